import ArgumentParser
import Foundation

/// Where the benchmarks find Redis and MySQL (loopback dev servers by default).
struct StoreOptions: ParsableArguments {
    @Option(help: "Redis URL.")
    var redis = ProcessInfo.processInfo.environment["REDIS_ADDR"] ?? "redis://127.0.0.1:6379/9"

    @Option(help: "MySQL URL (scratch rows are created and removed there).")
    var mysql = ProcessInfo.processInfo.environment["MYSQL_DSN"]
        ?? "mysql://baton:\(ProcessInfo.processInfo.environment["BATON_MYSQL_PASSWORD"] ?? "baton-dev-password")@127.0.0.1:3306/baton_test"
}

import ArgumentParser
import BatonMySQL
import BatonRedis
import Foundation
import Logging

/// `baton-bench store`: Redis and MySQL throughput through Baton's clients.
struct StoreBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Redis ops/s (single, concurrent, pipelined) beside redis-benchmark, and MySQL rows/s."
    )

    @OptionGroup var stores: StoreOptions

    @Option(help: "Operations per Redis measurement.")
    var redisOperations = 100_000

    @Option(help: "Rows per MySQL measurement.")
    var mysqlRows = 20_000

    @Option(help: "Concurrent callers for the concurrent measurements.")
    var concurrency = 16

    func run() async throws {
        let logger = Logger(label: "baton-bench")
        var results: [Throughput] = []
        results += try await self.redisBenchmarks(logger: logger)
        let reference = self.redisBenchmarkReference()
        results += try await self.mysqlBenchmarks(logger: logger)

        print("\nbaton-bench store (\(ProcessInfo.processInfo.activeProcessorCount) cores)")
        for result in results { print(result.line) }
        for (label, value) in reference {
            print("\(label.padding(toLength: 48, withPad: " ", startingAt: 0)) \(String(format: "%12.0f", value)) /s")
        }
        let pipelined = results.first { $0.label.hasPrefix("redis SET pipelined x16") }?.perSecond ?? 0
        if let p16 = reference.first(where: { $0.0.contains("-P 16") })?.1, p16 > 0 {
            print(String(format: "client pipelined x16 / redis-benchmark -P 16: %.0f%%", pipelined / p16 * 100))
        }
        let line = results.map { "\($0.label.replacingOccurrences(of: " ", with: "_"))=\(Int($0.perSecond))" }
            + reference.map { "\($0.0.replacingOccurrences(of: " ", with: "_"))=\(Int($0.1))" }
        print("BENCH store " + line.joined(separator: " "))
    }

    private func redisBenchmarks(logger: Logger) async throws -> [Throughput] {
        let client = try RedisClient(url: self.stores.redis, logger: logger)
        let operations = self.redisOperations
        let key = "bench:store:\(UUID().uuidString)"
        var results: [Throughput] = []

        let sequential = operations / 10
        results.append(
            try await Throughput.measure("redis SET sequential (1 caller)", operations: sequential) {
                for index in 0..<sequential { try await client.send("SET", key, index) }
            }
        )
        let concurrency = self.concurrency
        results.append(
            try await Throughput.measureConcurrently("redis SET concurrent (\(concurrency) callers)", operations: operations, concurrency: concurrency) { _ in
                for index in 0..<(operations / concurrency) { try await client.send("SET", key, index) }
            }
        )
        for depth in [16, 1000] {
            results.append(
                try await Throughput.measure("redis SET pipelined x\(depth) (1 caller)", operations: operations) {
                    let batch = (0..<depth).map { RedisCommand("SET", key, $0) }
                    for _ in 0..<(operations / depth) { _ = try await client.pipeline(batch) }
                }
            )
        }
        results.append(
            try await Throughput.measureConcurrently(
                "redis SET pipelined x16 (\(concurrency) callers)", operations: operations, concurrency: concurrency
            ) { _ in
                let batch = (0..<16).map { RedisCommand("SET", key, $0) }
                for _ in 0..<(operations / concurrency / 16) { _ = try await client.pipeline(batch) }
            }
        )
        try await client.send("DEL", key)
        try await client.shutdown()
        return results
    }

    /// `redis-benchmark -t set` on the same server, plain and with -P 16.
    private func redisBenchmarkReference() -> [(String, Double)] {
        guard let configuration = try? RedisConfiguration(url: self.stores.redis) else { return [] }
        var figures: [(String, Double)] = []
        for (label, extra) in [("redis-benchmark SET -c 16", ["-c", "16"]), ("redis-benchmark SET -P 16 -c 1", ["-P", "16", "-c", "1"]), ("redis-benchmark SET -P 16 -c 16", ["-P", "16", "-c", "16"])] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-benchmark")
            process.arguments = ["-h", configuration.host, "-p", String(configuration.port), "-t", "set", "-n", String(self.redisOperations), "-q", "--csv"]
                + Self.redisBenchmarkTLS(configuration.tls) + extra
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            guard (try? process.run()) != nil else { continue }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            // CSV: "test","rps",...
            let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
            if let row = lines.first(where: { $0.hasPrefix("\"SET\"") }) {
                let fields = row.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
                if fields.count > 1, let rps = Double(fields[1]) { figures.append((label, rps)) }
            }
        }
        return figures
    }

    /// redis-benchmark's flags for a `rediss://` URL: the same CA, client certificate and name.
    private static func redisBenchmarkTLS(_ tls: RedisTLS?) -> [String] {
        guard let tls else { return [] }
        var flags = ["--tls"]
        if let ca = tls.caFile { flags += ["--cacert", ca] }
        if let certificate = tls.certificateFile, let key = tls.keyFile { flags += ["--cert", certificate, "--key", key] }
        if let name = tls.serverName { flags += ["--sni", name] }
        return flags
    }

    private func mysqlBenchmarks(logger: Logger) async throws -> [Throughput] {
        let client = try MySQLClient(url: self.stores.mysql, logger: logger)
        let table = "bench_rows_\(Int.random(in: 0..<1_000_000))"
        try await client.execute(
            """
            CREATE TABLE `\(table)` (
              id CHAR(36) CHARACTER SET ascii NOT NULL PRIMARY KEY,
              kind VARCHAR(64) NOT NULL,
              payload MEDIUMTEXT NOT NULL,
              created_at DATETIME(6) NOT NULL
            ) ENGINE=InnoDB
            """
        )
        let rows = self.mysqlRows
        let concurrency = self.concurrency
        let payload = String(repeating: "p", count: 200)
        var results: [Throughput] = []
        let singles = rows / 4
        results.append(
            try await Throughput.measureConcurrently(
                "mysql single-row INSERT (\(concurrency) callers)", operations: singles, concurrency: concurrency
            ) { _ in
                for _ in 0..<(singles / concurrency) {
                    try await client.execute(
                        "INSERT INTO `\(table)` (id, kind, payload, created_at) VALUES (?, ?, ?, ?)",
                        [.string(UUID().uuidString), "noop", .string(payload), .date(Date())]
                    )
                }
            }
        )
        results.append(
            try await Throughput.measureConcurrently(
                "mysql 100-row INSERT rows (\(concurrency) callers)", operations: rows, concurrency: concurrency
            ) { _ in
                for _ in 0..<(rows / concurrency / 100) {
                    let batch: [[MySQLValue]] = (0..<100).map { _ in [.string(UUID().uuidString), "noop", .string(payload), .date(Date())] }
                    try await client.insertRows(into: table, columns: ["id", "kind", "payload", "created_at"], rows: batch)
                }
            }
        )
        results.append(
            try await Throughput.measure("mysql 100-row INSERT rows (1 caller)", operations: rows / 2) {
                for _ in 0..<(rows / 200) {
                    let batch: [[MySQLValue]] = (0..<100).map { _ in [.string(UUID().uuidString), "noop", .string(payload), .date(Date())] }
                    try await client.insertRows(into: table, columns: ["id", "kind", "payload", "created_at"], rows: batch)
                }
            }
        )
        let ids = try await client.query("SELECT id FROM `\(table)` LIMIT 1000").compactMap { $0.string("id") }
        results.append(
            try await Throughput.measureConcurrently(
                "mysql point SELECT (\(concurrency) callers)", operations: rows, concurrency: concurrency
            ) { worker in
                for index in 0..<(rows / concurrency) {
                    _ = try await client.query("SELECT id, kind, payload, created_at FROM `\(table)` WHERE id = ?", [.string(ids[(index + worker) % ids.count])])
                }
            }
        )
        try await client.execute("DROP TABLE `\(table)`")
        try await client.shutdown()
        return results
    }
}

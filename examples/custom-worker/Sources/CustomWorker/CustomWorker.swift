import BatonKit
import Foundation
import Logging

/// A worker node that runs two task types of its own, in-process:
/// `greet` (string payload in, text out) and `charge_card` (typed
/// arguments in, a typed receipt out). It joins any Baton cluster: API
/// and scheduler nodes elsewhere, this worker wherever its code must run.
@main
struct CustomWorker {
    static func main() async throws {
        let environment = ProcessInfo.processInfo.environment
        var settings = try NodeSettings(
            nodeID: environment["BATON_NODE_ID"] ?? NodeIncarnation.hostName(),
            redisURL: environment["REDIS_ADDR"] ?? "redis://127.0.0.1:6379",
            mysqlURL: environment["MYSQL_DSN"] ?? "mysql://baton:baton-dev-password@127.0.0.1:3306/baton"
        )
        settings.roles = .worker
        // As baton-node reads them: BATON_REDIS_NAMESPACE, then its older name.
        settings.namespace = environment["BATON_REDIS_NAMESPACE"] ?? environment["BATON_NAMESPACE"] ?? "baton"
        settings.httpPort = Int(environment["BATON_HTTP_PORT"] ?? "") ?? 8090
        settings.worker.capacity = 8

        let handlers = ExecutorRegistry()
        handlers.register("greet") { context, payload in
            context.log.info("greeting \(payload["name"] ?? "nobody")")
            return "hello, \(payload["name"] ?? "world")"
        }
        handlers.register("charge_card", ChargeCard.run)

        let node = try await Node.start(settings: settings, registry: handlers, logger: Logger(label: "custom-worker"))
        try await node.run()
    }
}

import BatonHTTP
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The stand-in business service of the failover tests: an HTTP executor
/// endpoint (`/run`) that counts executions per task id and holds each for
/// `hold`, long enough that some tasks are running when a server dies.
final class CountingService: Sendable {
    /// Executions per task id (a class: the route closure shares it).
    private final class Counts: Sendable {
        let byTask = Mutex<[String: Int]>([:])
    }

    private let counts = Counts()
    private let group: ServiceGroup
    private let server: HTTPServer
    private let serving = Mutex<Task<Void, Error>?>(nil)

    init(hold: Duration = .milliseconds(200), logger: Logger) {
        let counts = self.counts
        self.server = SimpleRoutes.server(
            host: "127.0.0.1", port: 0,
            routes: ["/run": { request in
                if let id = request.headers["X-Baton-Task-Id"].first { counts.byTask.withLock { $0[id, default: 0] += 1 } }
                try? await Task.sleep(for: hold)
                return .init(contentType: "application/json", body: #"{"success":true}"#)
            }],
            logger: logger
        )
        self.group = ServiceGroup(services: [self.server], logger: logger)
    }

    /// Starts serving; the endpoint's URL.
    func start() async throws -> String {
        let group = self.group
        self.serving.withLock { $0 = Task { try await group.run() } }
        return "http://127.0.0.1:\(try await self.server.listeningPort())/run"
    }

    func stop() async {
        await self.group.triggerGracefulShutdown()
        _ = await self.serving.withLock { $0 }?.result
    }

    /// Executions per task id so far.
    var executions: [String: Int] { self.counts.byTask.withLock { $0 } }
}

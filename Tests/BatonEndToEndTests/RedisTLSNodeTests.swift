import BatonClient
import BatonHTTP
import BatonProto
import BatonTestSupport
import Foundation
import Logging
import ServiceLifecycle
import XCTest

/// A real `baton-node` on `--redis rediss://…` (a client certificate
/// required by the server): it elects itself, dispatches and runs tasks to
/// SUCCEEDED with every Redis byte through TLS, and its log names the
/// TLS URL without the password.
final class RedisTLSNodeTests: XCTestCase {
    private var server: TLSRedisServer!

    override func setUp() async throws {
        self.server = try TLSRedisServer()
        try self.server.start()
        try self.server.requireClientCertificates(true)
    }

    override func tearDown() async throws {
        try self.server.stop()
    }

    func testANodeRunsTasksOverRediss() async throws {
        let logger = Logger(label: "redis-tls-service")
        let service = SimpleRoutes.server(
            host: "127.0.0.1", port: 0,
            routes: ["/run": { _ in .init(contentType: "application/json", body: #"{"success":true}"#) }],
            logger: logger
        )
        let group = ServiceGroup(services: [service], logger: logger)
        let serving = Task { try await group.run() }
        defer { serving.cancel() }
        let servicePort = try await service.listeningPort()

        // The password rides in the environment, as operators are told to pass it.
        try self.server.cli(["config", "set", "requirepass", "tls-node-pw"])
        let url = self.server.url(query: self.server.clientCertificateQuery).replacingOccurrences(of: "rediss://", with: "rediss://:tls-node-pw@")
        let node = try WireNode(redisURL: url)
        var stopped = false
        defer { if !stopped { node.stop() } }
        try await node.waitReady()
        let type = "tls_\(node.id.suffix(8))".replacingOccurrences(of: "-", with: "_")
        let statuses = try await withBatonClient(host: "127.0.0.1", port: node.grpcPort) { client in
            _ = try await client.admin.putTaskConfig(.with {
                $0.config = .with {
                    $0.taskType = type
                    $0.executor = "http"
                    $0.endpoint = "http://127.0.0.1:\(servicePort)/run"
                    $0.timeoutSeconds = 10
                    $0.enabled = true
                }
            })
            var ids: [String] = []
            for index in 0..<50 { ids.append(try await client.createTask(type: type, payload: ["n": "\(index)"]).taskID) }
            var statuses: [Baton_V1_TaskStatus] = []
            for id in ids { statuses.append(try await client.waitForTask(id, timeout: .seconds(30)).status) }
            _ = try await client.admin.deleteTaskConfig(.with { $0.taskType = type })
            return statuses
        }
        XCTAssertEqual(statuses, Array(repeating: .succeeded, count: 50))

        // Every connection of the node came in on the TLS port.
        let clients = try self.clientList()
        XCTAssertGreaterThan(clients.count, 2, "the node's pools are connected")
        XCTAssertTrue(clients.allSatisfy { $0.contains("laddr=127.0.0.1:\(self.server.tlsPort) ") }, clients.joined(separator: "\n"))
        let log = node.stop().log
        stopped = true
        await group.triggerGracefulShutdown()
        _ = await serving.result
        XCTAssertTrue(log.contains("rediss://127.0.0.1:\(self.server.tlsPort)"), String(log.prefix(3000)))
        XCTAssertFalse(log.contains("tls-node-pw"), "the password is never logged")
    }

    /// CLIENT LIST through the plain port, minus the caller: the node's connections.
    private func clientList() throws -> [Substring] {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("clients")).path
        defer { try? FileManager.default.removeItem(atPath: output) }
        try ChildProcess.run(
            "/usr/bin/redis-cli", ["-p", String(self.server.plainPort), "--no-auth-warning", "-a", "tls-node-pw", "client", "list"],
            environment: ProcessInfo.processInfo.environment, output: output
        )
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        return lines.filter { !$0.contains("cmd=client") }
    }
}

import BatonClient
import BatonHTTP
import BatonProto
import BatonTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import XCTest

/// An HTTP and a gRPC business service, configured through AdminService and
/// called by the cluster's workers.
final class BusinessServicesTests: XCTestCase {
    private let prefix = TestEnvironment.uniqueName("biz").replacingOccurrences(of: "-", with: "_")

    override func setUp() async throws { try ClusterFixture.script(["start"]) }
    override func tearDown() async throws { try ClusterFixture.script(["stop"]) }

    struct Payments: Baton_V1_TaskExecutor.SimpleServiceProtocol {
        func execute(request: Baton_V1_ExecuteRequest, context: ServerContext) async throws -> Baton_V1_ExecuteResponse {
            .with {
                $0.success = true
                $0.result = "paid \(request.payload["amount"] ?? "?")"
                $0.logs = ["authorised by the bank"]
            }
        }
    }

    func testHTTPAndGRPCServicesRunTasks() async throws {
        let logger = Logger(label: "business")
        let http = SimpleRoutes.server(
            host: "127.0.0.1", port: 0,
            routes: ["/send": { request in
                let attempt = request.headers["X-Baton-Attempt"].first ?? "?"
                return .init(contentType: "application/json", body: #"{"success":true,"data":"sent on attempt "# + attempt + #""}"#)
            }],
            logger: logger
        )
        let grpcTransport = HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext)
        let grpc = GRPCServer(transport: grpcTransport, services: [Payments()])
        let group = ServiceGroup(services: [http], logger: logger)
        let running = Task { try await group.run() }
        let serving = Task { try await grpc.serve() }
        let httpPort = try await http.listeningPort()
        let grpcPort = try await grpcTransport.listeningAddress.ipv4!.port

        let mail = "\(self.prefix)_mail"
        let pay = "\(self.prefix)_pay"
        try await ClusterFixture.configure(.with {
            $0.taskType = mail
            $0.executor = "http"
            $0.endpoint = "http://127.0.0.1:\(httpPort)/send"
            $0.timeoutSeconds = 10
            $0.enabled = true
        })
        try await ClusterFixture.configure(.with {
            $0.taskType = pay
            $0.executor = "grpc"
            $0.endpoint = "127.0.0.1:\(grpcPort)"
            $0.timeoutSeconds = 10
            $0.enabled = true
        }, via: "server-2")

        let (sent, paid, logs) = try await ClusterFixture.client("server-3") { client in
            let mailTask = try await client.createTask(type: mail, payload: ["to": "a@example.com"])
            let payTask = try await client.createTask(type: pay, payload: ["amount": "9.99"])
            let sent = try await client.waitForTask(mailTask.taskID, timeout: .seconds(20))
            let paid = try await client.waitForTask(payTask.taskID, timeout: .seconds(20))
            try await Task.sleep(for: .milliseconds(200))
            return (sent, paid, try await client.logs(payTask.taskID).map(\.message))
        }
        XCTAssertEqual(sent.status, .succeeded)
        XCTAssertEqual(sent.result, "sent on attempt 1")
        XCTAssertEqual(paid.status, .succeeded)
        XCTAssertEqual(paid.result, "paid 9.99")
        XCTAssertTrue(logs.contains("authorised by the bank"), "\(logs)")

        // The workers keep their pooled connections open: stop without waiting for them.
        serving.cancel()
        _ = await serving.result
        await group.triggerGracefulShutdown()
        _ = await running.result
    }
}

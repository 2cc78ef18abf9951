import BatonHTTP
import BatonModel
import BatonProto
import BatonTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import SwiftProtobuf
import XCTest

/// HTTP and gRPC business services started by the test, called by a real worker.
final class RemoteExecutorTests: XCTestCase {
    private var harness: WorkerHarness!
    private final class Requests: Sendable {
        let lines = Mutex<[String]>([])
    }

    private let seen = Requests()

    override func setUp() async throws { self.harness = try await WorkerHarness(capacity: 4) }
    override func tearDown() async throws { try await self.harness.shutdown() }

    /// An HTTP business service on a free loopback port.
    private func withHTTPService(_ body: (Int) async throws -> Void) async throws {
        let seen = self.seen
        let server = SimpleRoutes.server(
            host: "127.0.0.1", port: 0,
            routes: [
                "/ok": { request in
                    let text = String(buffer: request.body)
                    seen.lines.withLock {
                        $0.append("\(request.method) \(request.headers["X-Baton-Task-Id"].first ?? "-") \(request.headers["X-Baton-Attempt"].first ?? "-") \(request.headers["X-Team"].first ?? "-") \(request.headers["Content-Type"].first ?? "-") \(text)")
                    }
                    return .init(contentType: "application/json", body: #"{"success":true,"data":{"sent":1}}"#)
                },
                "/plain": { _ in .init(body: "all good") },
                "/refuse": { _ in .init(contentType: "application/json", body: #"{"success":false,"error":"card declined"}"#) },
                "/busy": { _ in .init(status: .serviceUnavailable, body: "try later") },
                "/invalid": { _ in .init(status: .unprocessableEntity, body: "bad payload") },
                "/slow": { _ in
                    try? await Task.sleep(for: .seconds(20))
                    return .init(body: "late")
                },
            ],
            logger: Logger(label: "http-service")
        )
        let group = ServiceGroup(services: [server], logger: Logger(label: "http-service"))
        let running = Task { try await group.run() }
        let port = try await server.listeningPort()
        try await body(port)
        await group.triggerGracefulShutdown()
        running.cancel()
        _ = await running.result
    }

    func testHTTPExecutorOutcomes() async throws {
        try await self.withHTTPService { port in
            let base = "http://127.0.0.1:\(port)"
            let ok = try await self.harness.type("http_ok", handler: "\(base)/ok", executor: .http, headers: ["X-Team": "payments"])
            let plain = try await self.harness.type("http_plain", handler: "\(base)/plain", executor: .http)
            let refuse = try await self.harness.type("http_refuse", handler: "\(base)/refuse", executor: .http, retries: 3)
            let busy = try await self.harness.type("http_busy", handler: "\(base)/busy", executor: .http, retries: 1, backoffMs: 100)
            let invalid = try await self.harness.type("http_invalid", handler: "\(base)/invalid", executor: .http, retries: 3)
            let slow = try await self.harness.type("http_slow", handler: "\(base)/slow", executor: .http, timeout: 1)

            let okTask = try await self.harness.create(type: ok, payload: ["to": "a@b.c"])
            let done = try await self.harness.waitForStatus(okTask.taskID, [.succeeded])
            XCTAssertEqual(done.result, #"{"sent":1}"#)
            let request = self.seen.lines.withLock { $0.first } ?? ""
            XCTAssertTrue(request.hasPrefix("POST \(okTask.taskID) 1 payments application/json"), request)
            XCTAssertTrue(request.contains(#""payload":{"to":"a@b.c"}"#) && request.contains(#""attempt":1"#), request)

            let plainTask = try await self.harness.create(type: plain)
            let plainDone = try await self.harness.waitForStatus(plainTask.taskID, [.succeeded])
            XCTAssertEqual(plainDone.result, "all good")

            let refused = try await self.harness.waitForStatus(try await self.harness.create(type: refuse, retries: 3).taskID, [.failed])
            XCTAssertEqual(refused.error, "card declined")
            XCTAssertEqual(refused.attempt, 1)

            let busyDone = try await self.harness.waitForStatus(try await self.harness.create(type: busy, retries: 1).taskID, [.failed])
            XCTAssertEqual(busyDone.attempt, 2, "503 is retried")
            XCTAssertTrue(busyDone.error?.hasPrefix("HTTP 503") ?? false)

            let invalidDone = try await self.harness.waitForStatus(try await self.harness.create(type: invalid, retries: 3).taskID, [.failed])
            XCTAssertEqual(invalidDone.attempt, 1, "422 is never retried")

            let slowDone = try await self.harness.waitForStatus(try await self.harness.create(type: slow, timeout: 1).taskID, [.timeout, .failed])
            XCTAssertEqual(slowDone.status, .timeout)
        }
    }

    /// A task created with args: the HTTP body carries them as a JSON object
    /// (the payload stays, empty), byte for byte as stored.
    func testHTTPExecutorSendsArgsInItsBody() async throws {
        try await self.withHTTPService { port in
            let type = try await self.harness.type("http_args", handler: "http://127.0.0.1:\(port)/ok", executor: .http)
            let task = try await self.harness.create(type: type, args: #"{"amount":42,"items":[1,2]}"#)
            _ = try await self.harness.waitForStatus(task.taskID, [.succeeded])
            let line = self.seen.lines.withLock { $0.first } ?? ""
            let body = String(line[line.firstIndex(of: "{")!...])
            let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? NSDictionary
            XCTAssertEqual(object?["args"] as? NSDictionary, ["amount": 42, "items": [1, 2]] as NSDictionary, body)
            XCTAssertEqual(object?["payload"] as? NSDictionary, [:] as NSDictionary, body)
            XCTAssertEqual(object?["task_id"] as? String, task.taskID)

            // A payload task's body has no args key at all (as before args existed).
            let plain = try await self.harness.create(type: type, payload: ["to": "x"])
            _ = try await self.harness.waitForStatus(plain.taskID, [.succeeded])
            let second = self.seen.lines.withLock { $0.last } ?? ""
            XCTAssertFalse(second.contains("\"args\""), second)
        }
    }

    /// A service that is down: the task's error (readable by any viewer)
    /// and its log lines say where the call went, never the credentials in
    /// the endpoint's userinfo or query.
    func testAnEndpointsCredentialsAppearInNoErrorOrLog() async throws {
        let down = try await self.harness.type("down", handler: "http://user:pw-SECRET@127.0.0.1:1/hook?token=SECRET", executor: .http)
        let task = try await self.harness.waitForStatus(try await self.harness.create(type: down).taskID, [.failed])
        let error = task.error ?? ""
        XCTAssertTrue(error.contains("http://127.0.0.1:1/hook?…"), error)
        XCTAssertFalse(error.contains("SECRET"), error)
        let logs = try await self.harness.logs(task.taskID)
        XCTAssertFalse(logs.isEmpty)
        XCTAssertFalse(logs.joined().contains("SECRET"), "\(logs)")
    }

    func testHTTPCancelAbortsTheRequest() async throws {
        try await self.withHTTPService { port in
            let slow = try await self.harness.type("http_cancel", handler: "http://127.0.0.1:\(port)/slow", executor: .http)
            let task = try await self.harness.create(type: slow)
            _ = try await self.harness.waitForStatus(task.taskID, [.running])
            let (cancelled, _) = try await self.harness.base.tasks.cancel(task.taskID, reason: "cancelled: test")
            let signalled = ContinuousClock.now
            try await self.harness.base.broker.cancel(cancelled!)
            let harness = self.harness!
            let freed = try await TestEnvironment.waitUntil(timeout: .seconds(2), every: .milliseconds(5)) { harness.worker.runningCount == 0 }
            XCTAssertTrue(freed)
            XCTAssertLessThan(ContinuousClock.now - signalled, .seconds(1))
        }
    }

    /// A gRPC business service implementing baton.v1.TaskExecutor.
    struct BusinessService: Baton_V1_TaskExecutor.SimpleServiceProtocol {
        let aborted: @Sendable () -> Void

        func execute(request: Baton_V1_ExecuteRequest, context: ServerContext) async throws -> Baton_V1_ExecuteResponse {
            // A task with args answers them back, with how many payload entries came beside them.
            if request.hasArgs {
                return .with { $0.success = true; $0.result = "\(request.payload.count) " + ((try? request.args.jsonString()) ?? "?") }
            }
            switch request.payload["mode"] {
            case "fail":
                return .with { $0.success = false; $0.error = "no stock"; $0.retryable = false; $0.logs = ["checked stock"] }
            case "unavailable":
                throw RPCError(code: .unavailable, message: "warming up")
            case "slow":
                // gRPC reports a client's cancel through the RPC's cancellation handle.
                try await withRPCCancellationHandler {
                    while !context.cancellation.isCancelled { try await Task.sleep(for: .milliseconds(10)) }
                } onCancelRPC: {
                    self.aborted()
                }
                throw RPCError(code: .cancelled, message: "client went away")
            default:
                return .with {
                    $0.success = true
                    $0.result = "charged \(request.payload["amount"] ?? "?") on attempt \(request.attempt)"
                    $0.logs = ["talking to the bank", "done"]
                }
            }
        }
    }

    func testGRPCExecutorOutcomesAndCancel() async throws {
        let aborted = Atomic<Int>(0)
        let transport = HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext)
        let server = GRPCServer(transport: transport, services: [BusinessService(aborted: { aborted.add(1, ordering: .relaxed) })])
        let serving = Task { try await server.serve() }
        let port = try await transport.listeningAddress.ipv4!.port
        let endpoint = "127.0.0.1:\(port)"

        let type = try await self.harness.type("grpc", handler: endpoint, executor: .grpc, retries: 1, backoffMs: 100)
        let ok = try await self.harness.waitForStatus(try await self.harness.create(type: type, payload: ["amount": "12.50"], retries: 1).taskID, [.succeeded])
        XCTAssertEqual(ok.result, "charged 12.50 on attempt 1")
        let harness = self.harness!
        let logged = try await TestEnvironment.waitUntil { try await harness.logs(ok.taskID).contains("talking to the bank") }
        XCTAssertTrue(logged)

        let typed = try await self.harness.waitForStatus(try await self.harness.create(type: type, args: #"{"amount":42,"items":[1,2]}"#).taskID, [.succeeded])
        let answer = typed.result ?? ""
        XCTAssertTrue(answer.hasPrefix("0 "), answer)
        let echoed = try JSONSerialization.jsonObject(with: Data(answer.dropFirst(2).utf8)) as? NSDictionary
        XCTAssertEqual(echoed, ["amount": 42, "items": [1, 2]] as NSDictionary, "ExecuteRequest.args carries the task's args")

        let failed = try await self.harness.waitForStatus(try await self.harness.create(type: type, payload: ["mode": "fail"], retries: 1).taskID, [.failed])
        XCTAssertEqual(failed.error, "no stock")
        XCTAssertEqual(failed.attempt, 1)

        let unavailable = try await self.harness.waitForStatus(try await self.harness.create(type: type, payload: ["mode": "unavailable"], retries: 1).taskID, [.failed])
        XCTAssertEqual(unavailable.attempt, 2, "UNAVAILABLE is retried")

        let slow = try await self.harness.create(type: type, payload: ["mode": "slow"], retries: 1)
        _ = try await self.harness.waitForStatus(slow.taskID, [.running])
        let (cancelled, _) = try await self.harness.base.tasks.cancel(slow.taskID, reason: "cancelled: test")
        try await self.harness.base.broker.cancel(cancelled!)
        let sawAbort = try await TestEnvironment.waitUntil(timeout: .seconds(2), every: .milliseconds(10)) { aborted.load(ordering: .relaxed) == 1 }
        XCTAssertTrue(sawAbort, "the business service should see the call cancelled")

        server.beginGracefulShutdown()
        _ = await serving.result
    }
}

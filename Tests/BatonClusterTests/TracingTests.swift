import BatonHTTP
@testable import BatonKit
import BatonModel
import BatonMySQL
import BatonProto
import BatonStore
import BatonTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import XCTest

/// Tracing end to end on an in-process node: an OTLP/HTTP receiver of the
/// test's own decodes what the node exports, and HTTP and gRPC business
/// services record the trace context they were called with. A client span
/// → the API span (its child) → the stored traceparent → the attempt span
/// (its child) → the executor's `traceparent` (the attempt span).
final class TracingTests: XCTestCase {
    /// What the receiver and the business services saw.
    private final class Seen: Sendable {
        let spans = Mutex<[OTLPSpan]>([])
        /// Task id → the `traceparent` header of its HTTP call ("" for none).
        let httpHeaders = Mutex<[String: String]>([:])
        /// Task id → (metadata, ExecuteRequest.traceparent) of its gRPC call.
        let grpc = Mutex<[String: (metadata: String, field: String)]>([:])
    }

    private struct BusinessService: Baton_V1_TaskExecutor.ServiceProtocol {
        let seen: Seen

        func execute(
            request: ServerRequest<Baton_V1_ExecuteRequest>, context: ServerContext
        ) async throws -> ServerResponse<Baton_V1_ExecuteResponse> {
            var metadata = ""
            for value in request.metadata[stringValues: "traceparent"] { metadata = value }
            let seen = (metadata, request.message.traceparent)
            self.seen.grpc.withLock { $0[request.message.taskID] = seen }
            return ServerResponse(message: .with { $0.success = true })
        }
    }

    private let seen = Seen()
    private var services: Task<Void, any Error>?
    private var group: ServiceGroup?
    private var grpcServer: GRPCServer<HTTP2ServerTransport.Posix>?
    private var receiverPort = 0
    private var httpPort = 0
    private var grpcPort = 0
    private var mysql: MySQLClient!
    private var store: TaskStore { TaskStore(mysql: self.mysql) }

    override func setUp() async throws {
        let seen = self.seen
        let logger = Logger(label: "tracing-test")
        self.mysql = try MySQLClient(url: TestEnvironment.mysqlURL, logger: logger)
        let receiver = SimpleRoutes.server(
            host: "127.0.0.1", port: 0,
            routes: [
                "/v1/traces": { request in
                    let spans = OTLPSpan.decode(Array(buffer: request.body))
                    seen.spans.withLock { $0 += spans }
                    return .init(contentType: "application/x-protobuf", body: "")
                },
            ],
            logger: logger
        )
        let business = SimpleRoutes.server(
            host: "127.0.0.1", port: 0,
            routes: [
                "/hook": { request in
                    let taskID = request.headers["X-Baton-Task-Id"].first ?? "?"
                    let traceparent = request.headers["traceparent"].first ?? ""
                    seen.httpHeaders.withLock { $0[taskID] = traceparent }
                    return .init(contentType: "application/json", body: #"{"success":true}"#)
                },
            ],
            logger: logger
        )
        let group = ServiceGroup(services: [receiver, business], logger: logger)
        self.group = group
        self.services = Task { try await group.run() }
        self.receiverPort = try await receiver.listeningPort()
        self.httpPort = try await business.listeningPort()
        let transport = HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext)
        let server = GRPCServer(transport: transport, services: [BusinessService(seen: seen)])
        self.grpcServer = server
        Task { try await server.serve() }
        self.grpcPort = try await transport.listeningAddress.ipv4!.port
    }

    override func tearDown() async throws {
        self.grpcServer?.beginGracefulShutdown()
        await self.group?.triggerGracefulShutdown()
        _ = await self.services?.result
        try await self.mysql?.shutdown()
    }

    /// A node of every role on free ports and a namespace of its own,
    /// tracing to the test's receiver when `traced`.
    private func withNode(traced: Bool, _ body: (Node) async throws -> Void) async throws {
        var settings = try NodeSettings(
            nodeID: TestEnvironment.uniqueName("tracing"), redisURL: TestEnvironment.redisURL, mysqlURL: TestEnvironment.mysqlURL
        )
        settings.namespace = TestEnvironment.uniqueName("tracing")
        settings.grpcPort = 0
        settings.httpPort = 0
        if traced {
            var tracing = TracingSettings(endpoint: "http://127.0.0.1:\(self.receiverPort)")
            tracing.exportDelay = .milliseconds(50)
            settings.tracing = tracing
        }
        let node = try await Node.start(settings: settings, logger: Logger(label: "tracing-node"))
        let running = Task { try await node.run() }
        do {
            try await body(node)
        } catch {
            await node.stop()
            _ = await running.result
            throw error
        }
        await node.stop()
        _ = try await running.value
    }

    /// Creates an http and a grpc type and one task of each over gRPC (the
    /// gRPC one with `traceparent` metadata), and one http task over REST
    /// (with a `traceparent` header); waits until all three succeeded.
    /// Returns their ids: (gRPC-created http task, REST-created http task, gRPC task).
    private func createTasks(
        on node: Node, traceparent: String, restTraceparent: String
    ) async throws -> (grpcHTTP: String, restHTTP: String, grpc: String) {
        let port = try await node.apiServer!.listeningPort()
        let httpType = TestEnvironment.uniqueName("traced_http")
        let grpcType = TestEnvironment.uniqueName("traced_grpc")
        let (httpPort, grpcPort) = (self.httpPort, self.grpcPort)
        let ids = try await withGRPCClient(
            transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        ) { client in
            let admin = Baton_V1_AdminService.Client(wrapping: client)
            let tasks = Baton_V1_TaskService.Client(wrapping: client)
            for (type, executor, endpoint) in [(httpType, "http", "http://127.0.0.1:\(httpPort)/hook"), (grpcType, "grpc", "127.0.0.1:\(grpcPort)")] {
                _ = try await admin.putTaskConfig(.with {
                    $0.config = .with {
                        $0.taskType = type
                        $0.executor = executor
                        $0.endpoint = endpoint
                        $0.timeoutSeconds = 10
                        $0.enabled = true
                    }
                })
            }
            var metadata = Metadata()
            metadata.addString(traceparent, forKey: "traceparent")
            let http = try await tasks.createTask(.with { $0.taskType = httpType }, metadata: metadata).task.taskID
            let grpc = try await tasks.createTask(.with { $0.taskType = grpcType }, metadata: metadata).task.taskID
            return (http, grpc)
        }

        // REST, as a browser or script would call it.
        let restPort = try await node.httpServer.listeningPort()
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(restPort)/api/v1/tasks")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(restTraceparent, forHTTPHeaderField: "traceparent")
        request.httpBody = Data(#"{"taskType":"\#(httpType)"}"#.utf8)
        let (data, _) = try await URLSession.shared.data(for: request)
        let created = try Baton_V1_CreateTaskResponse(jsonUTF8Data: data)
        let rest = created.task.taskID
        XCTAssertFalse(rest.isEmpty, String(decoding: data, as: UTF8.self))

        let tasks = self.store
        for id in [ids.0, rest, ids.1] {
            let done = try await TestEnvironment.waitUntil { try await tasks.task(id)?.status == .succeeded }
            XCTAssertTrue(done, "task \(id) did not succeed")
        }
        return (ids.0, rest, ids.1)
    }

    func testSpansLinkTheClientTheAPICallTheAttemptAndTheExecutor() async throws {
        let clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
        let clientSpan = "00f067aa0ba902b7"
        let restTrace = "0af7651916cd43dd8448eb211c80319c"
        let restSpan = "b7ad6b7169203331"
        try await self.withNode(traced: true) { node in
            let ids = try await self.createTasks(
                on: node, traceparent: "00-\(clientTrace)-\(clientSpan)-01", restTraceparent: "00-\(restTrace)-\(restSpan)-01"
            )
            let seen = self.seen
            // Every attempt span exported (batches every 50 ms).
            let exported = try await TestEnvironment.waitUntil {
                let names = seen.spans.withLock { $0.compactMap { $0.attributes["baton.task.id"] } }
                return [ids.grpcHTTP, ids.restHTTP, ids.grpc].allSatisfy(names.contains)
            }
            XCTAssertTrue(exported, "\(seen.spans.withLock { $0 })")
            let spans = seen.spans.withLock { $0 }

            // The API spans: children of the clients' spans, in their traces.
            let creates = spans.filter { $0.name == "baton.v1.TaskService/CreateTask" }
            XCTAssertEqual(creates.count, 2, "\(spans)")
            XCTAssertTrue(creates.allSatisfy { $0.traceID == clientTrace && $0.parentSpanID == clientSpan }, "\(creates)")
            let restCreate = spans.first { $0.name == "POST /api/v1/tasks" }
            XCTAssertEqual(restCreate?.traceID, restTrace, "\(spans)")
            XCTAssertEqual(restCreate?.parentSpanID, restSpan)

            let store = self.store
            for (id, api) in [(ids.grpcHTTP, creates), (ids.grpc, creates), (ids.restHTTP, restCreate.map { [$0] } ?? [])] {
                // The task keeps its API span's context…
                let stored = try await store.task(id)?.traceparent
                let parent = api.first { $0.traceparent == stored }
                XCTAssertNotNil(parent, "task \(id) stored \(stored ?? "nil"), API spans \(api)")
                // …whose child its attempt span is, with the task's id, type and attempt.
                let attempt = spans.first { $0.attributes["baton.task.id"] == id }
                XCTAssertEqual(attempt?.traceID, parent?.traceID)
                XCTAssertEqual(attempt?.parentSpanID, parent?.spanID)
                XCTAssertEqual(attempt?.attributes["baton.task.attempt"], "1")
                XCTAssertNotNil(attempt?.attributes["baton.task.type"])
                // The executor got the attempt span's traceparent.
                if id == ids.grpc {
                    let call = seen.grpc.withLock { $0[id] }
                    XCTAssertEqual(call?.metadata, attempt?.traceparent)
                    XCTAssertEqual(call?.field, attempt?.traceparent)
                } else {
                    XCTAssertEqual(seen.httpHeaders.withLock { $0[id] }, attempt?.traceparent)
                }
            }
            // A dispatch round that moved them is a span of its own.
            XCTAssertTrue(spans.contains { $0.name == "dispatch" && Int($0.attributes["baton.dispatch.tasks"] ?? "0")! >= 1 }, "\(spans)")
        }
    }

    /// Tracing off (the default): a client's traceparent is neither stored
    /// nor passed on, and nothing is exported.
    func testWithoutTracingNothingIsStoredSentOrExported() async throws {
        try await self.withNode(traced: false) { node in
            let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            let ids = try await self.createTasks(on: node, traceparent: traceparent, restTraceparent: traceparent)
            let store = self.store
            for id in [ids.grpcHTTP, ids.restHTTP, ids.grpc] {
                let stored = try await store.task(id)
                XCTAssertNil(stored?.traceparent)
            }
            XCTAssertEqual(self.seen.httpHeaders.withLock { $0[ids.grpcHTTP] }, "")
            XCTAssertEqual(self.seen.httpHeaders.withLock { $0[ids.restHTTP] }, "")
            XCTAssertEqual(self.seen.grpc.withLock { $0[ids.grpc]?.metadata }, "")
            XCTAssertEqual(self.seen.grpc.withLock { $0[ids.grpc]?.field }, "")
        }
        XCTAssertTrue(self.seen.spans.withLock { $0.isEmpty })
    }

    /// `--otel-endpoint` is the receiver's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT is; a URL with a path is taken as given.
    func testTheEndpointIsABaseUnlessItHasAPath() {
        XCTAssertEqual(TracingSettings(endpoint: "http://collector:4318").tracesURL, "http://collector:4318/v1/traces")
        XCTAssertEqual(TracingSettings(endpoint: "https://collector:4318/").tracesURL, "https://collector:4318/v1/traces")
        XCTAssertEqual(TracingSettings(endpoint: "http://gateway/otlp/v1/traces").tracesURL, "http://gateway/otlp/v1/traces")
    }
}

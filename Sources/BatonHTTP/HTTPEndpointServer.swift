import BatonModel
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// A small HTTP/1.1 server for operational endpoints (`/health`, `/ready`,
/// `/metrics`). Each route is an async closure returning status and body.
public final class HTTPEndpointServer: Service, Sendable {
    public struct Response: Sendable {
        public var status: HTTPResponseStatus
        public var contentType: String
        public var body: String

        public init(status: HTTPResponseStatus = .ok, contentType: String = "text/plain; charset=utf-8", body: String) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    /// What a route sees of the request.
    public struct Request: Sendable {
        public var method: HTTPMethod
        public var path: String
        public var headers: HTTPHeaders
        public var body: ByteBuffer
    }

    public typealias Route = @Sendable (Request) async -> Response

    private let host: String
    private let port: Int
    private let routes: [String: Route]
    private let logger: Logger
    private let limits: HTTPLimits
    private let connections: Slots

    /// The largest request body read; larger requests get 413.
    private let maxBodyBytes = 1 << 20
    private let boundPort = PortBox()

    public init(host: String, port: Int, routes: [String: Route], limits: HTTPLimits = HTTPLimits(), logger: Logger) {
        self.host = host
        self.port = port
        self.routes = routes
        self.limits = limits
        self.connections = Slots(limit: limits.maxConnections)
        self.logger = logger
    }

    public func run() async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: self.host, port: self.port) { [connections, limits] channel in
                channel.eventLoop.makeCompletedFuture {
                    // Over the cap: closed before a byte is read; the loop
                    // below sees a connection that ends at once.
                    if connections.take() {
                        channel.closeFuture.whenComplete { _ in connections.give() }
                    } else {
                        try channel.pipeline.syncOperations.addHandler(RefuseConnectionHandler())
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(HTTPTimeoutHandler(limits: limits))
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        self.boundPort.set(channel.channel.localAddress?.port ?? self.port)
        self.logger.info("HTTP endpoints listening", metadata: ["port": "\(self.boundPort.port ?? self.port)"])
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await channel.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await self.serve(connection) }
                    }
                }
                // No longer accepting: end idle keep-alive connections too,
                // rather than wait for their clients to close them.
                group.cancelAll()
            }
        } onGracefulShutdown: {
            channel.channel.close(promise: nil)
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        try? await connection.executeThenClose { inbound, outbound in
            var request = Request(method: .GET, path: "/", headers: [:], body: ByteBuffer())
            var keepAlive = true
            for try await part in inbound {
                switch part {
                case .head(let head):
                    request = Request(method: head.method, path: String(head.uri.split(separator: "?", maxSplits: 1).first ?? "/"), headers: head.headers, body: ByteBuffer())
                    keepAlive = head.isKeepAlive
                case .body(var chunk):
                    if request.body.readableBytes + chunk.readableBytes <= self.maxBodyBytes { request.body.writeBuffer(&chunk) }
                case .end:
                    let response = await self.routes[request.path]?(request) ?? Response(status: .notFound, body: "not found\n")
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: response.contentType)
                    headers.add(name: "Content-Length", value: String(response.body.utf8.count))
                    if !keepAlive { headers.add(name: "Connection", value: "close") }
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(string: response.body))))
                    try await outbound.write(.end(nil))
                    if !keepAlive { return }
                }
            }
        }
    }
}

/// The port actually bound (for port 0).
final class PortBox: Sendable {
    private let value = NIOLockedValueBox<Int?>(nil)
    func set(_ port: Int) { self.value.withLockedValue { $0 = port } }
    var port: Int? { self.value.withLockedValue { $0 } }
}

extension HTTPEndpointServer {
    /// The bound port once listening (polls briefly; for tests with port 0).
    public func listeningPort() async throws -> Int {
        for _ in 0..<500 {
            if let port = self.boundPort.port { return port }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ChannelError.inappropriateOperationForState
    }
}

import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle

/// The node's gRPC server as a lifecycle service: serves until cancelled,
/// and on graceful shutdown stops accepting calls and lets running ones end.
public final class APIServer: Service, Sendable {
    private let transport: HTTP2ServerTransport.Posix
    private let server: GRPCServer<RequestSizeLimit<HTTP2ServerTransport.Posix>>
    private let logger: Logger
    /// The connection cap (nil when uncapped), for its counts.
    public let connections: ConnectionCap?

    public init(
        host: String,
        port: Int,
        services: [any RegistrableRPCService],
        interceptors: [any ServerInterceptor] = [],
        tls: ServerTLS? = nil,
        limits: GRPCLimits = GRPCLimits(),
        logger: Logger
    ) {
        self.connections = limits.maxConnections.map { ConnectionCap(limit: $0) }
        self.transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: host, port: port),
            transportSecurity: tls?.transportSecurity ?? .plaintext,
            config: limits.transportConfig(cap: self.connections)
        )
        self.server = GRPCServer(
            transport: RequestSizeLimit(base: self.transport, maxBytes: limits.maxRequestBytes), services: services, interceptors: interceptors
        )
        self.logger = logger
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await self.server.serve()
        } onGracefulShutdown: {
            self.server.beginGracefulShutdown()
        }
    }

    /// The port the server listens on (useful with port 0).
    public func listeningPort() async throws -> Int {
        let address = try await self.transport.listeningAddress
        guard let port = address.ipv4?.port ?? address.ipv6?.port else {
            throw RPCError(code: .internalError, message: "server is not listening on an IP address")
        }
        return port
    }

    public func beginGracefulShutdown() {
        self.server.beginGracefulShutdown()
    }
}

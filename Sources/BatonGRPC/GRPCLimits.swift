import GRPCNIOTransportHTTP2
import NIOCore
import NIOSSL

/// What one gRPC client may hold of the server: connections, their lifetime
/// and streams. Each value has a `baton-node` flag.
public struct GRPCLimits: Sendable {
    /// Open connections at once (nil: no cap).
    public var maxConnections: Int?
    /// Time to finish the TLS handshake and send the HTTP/2 preface.
    public var handshakeTimeout: Duration = .seconds(10)
    /// A connection with no RPC for this long is sent GOAWAY.
    public var idleTimeout: Duration = .seconds(300)
    /// A connection older than this is sent GOAWAY; its RPCs get `maxConnectionAgeGrace` to end.
    public var maxConnectionAge: Duration? = .seconds(3600)
    public var maxConnectionAgeGrace: Duration = .seconds(60)
    /// The server pings a connection quiet for `keepaliveTime` and closes it
    /// if no answer comes within `keepaliveTimeout`.
    public var keepaliveTime: Duration = .seconds(60)
    public var keepaliveTimeout: Duration = .seconds(20)
    /// Client pings closer than this (without calls, or at all when not
    /// `clientPingsWithoutCalls`) count as strikes; too many end the connection.
    public var minClientPingInterval: Duration = .seconds(10)
    public var clientPingsWithoutCalls = true
    /// Concurrent streams (RPCs) per connection.
    public var maxConcurrentStreams: Int = 100
    /// The largest request message accepted; a larger one is answered
    /// RESOURCE_EXHAUSTED naming this limit (`RequestSizeLimit`).
    public var maxRequestBytes: Int = 4 << 20
    /// How far past `maxRequestBytes` the transport still reads a message so
    /// that it can be refused with a status: beyond, it resets the stream.
    public static let requestHeadroomBytes = 4 << 20

    /// The transport's own message limit: ours plus the headroom. A stream
    /// buffers at most this much of one message.
    var transportRequestBytes: Int { self.maxRequestBytes + Self.requestHeadroomBytes }

    public init() {}

    /// Nothing read for this long means a dead peer: a live one answers the
    /// server's keepalive ping within `keepaliveTimeout`.
    var livenessTimeout: Duration { self.keepaliveTime + self.keepaliveTimeout + .seconds(1) }

    func transportConfig(cap: ConnectionCap?) -> HTTP2ServerTransport.Posix.Config {
        .defaults { config in
            config.connection.maxIdleTime = self.idleTimeout
            config.connection.maxAge = self.maxConnectionAge
            config.connection.maxGraceTime = self.maxConnectionAgeGrace
            config.connection.keepalive = .init(
                time: self.keepaliveTime,
                timeout: self.keepaliveTimeout,
                clientBehavior: .init(minPingIntervalWithoutCalls: self.minClientPingInterval, allowWithoutCalls: self.clientPingsWithoutCalls)
            )
            config.http2.maxConcurrentStreams = self.maxConcurrentStreams
            config.rpc.maxRequestPayloadSize = self.transportRequestBytes
            // The transport has no connection cap or handshake deadline: its
            // accept hook adds them to each new connection.
            let handshake = TimeAmount(self.handshakeTimeout)
            let liveness = TimeAmount(self.livenessTimeout)
            config.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let cap {
                        guard cap.admit(channel) else {
                            try channel.pipeline.syncOperations.addHandler(RefuseConnectionHandler(), position: .first)
                            return
                        }
                        channel.closeFuture.whenComplete { _ in cap.release(channel) }
                    }
                    let deadlines = ConnectionDeadlineHandler(cap: cap, handshakeTimeout: handshake, livenessTimeout: liveness)
                    let pipeline = channel.pipeline.syncOperations
                    // After TLS, so the preface it waits for is decrypted HTTP/2.
                    if let tls = try? pipeline.handler(type: NIOSSLServerHandler.self) {
                        try pipeline.addHandler(deadlines, position: .after(tls))
                    } else {
                        try pipeline.addHandler(deadlines, position: .first)
                    }
                }
            }
        }
    }
}

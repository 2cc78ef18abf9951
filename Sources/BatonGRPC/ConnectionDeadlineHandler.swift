import NIOCore

/// Ends gRPC connections that never become, or stop being, a live HTTP/2 peer.
/// Sits right after TLS (or first, in plaintext), so it sees the bytes HTTP/2
/// will parse:
/// - handshake: the TLS handshake and the 24-byte HTTP/2 client preface must be
///   through within `handshakeTimeout` (silent sockets, stalled handshakes);
/// - liveness: nothing read for `livenessTimeout` closes the connection. The
///   transport pings a quiet peer after its keepalive time and a live peer
///   answers, so this only ends dead or silent peers (the transport's own idle
///   close sends GOAWAY and waits for a PING ack a silent peer never sends).
final class ConnectionDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    static let prefaceBytes = 24

    private let cap: ConnectionCap?
    private let handshakeTimeout: TimeAmount
    private let livenessTimeout: TimeAmount
    private var bytesRead = 0
    private var lastRead = NIODeadline.now()
    private var handshakeTimer: Scheduled<Void>?
    private var livenessTimer: Scheduled<Void>?
    private var started = false

    init(cap: ConnectionCap?, handshakeTimeout: TimeAmount, livenessTimeout: TimeAmount) {
        self.cap = cap
        self.handshakeTimeout = handshakeTimeout
        self.livenessTimeout = livenessTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.stop()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = self.unwrapInboundIn(data).readableBytes
        self.lastRead = .now()
        if self.bytesRead < Self.prefaceBytes {
            self.bytesRead += bytes
            if self.bytesRead >= Self.prefaceBytes {
                self.handshakeTimer?.cancel()
                self.handshakeTimer = nil
                self.cap?.established(context.channel)
            }
        }
        context.fireChannelRead(data)
    }

    private func start(context: ChannelHandlerContext) {
        guard !self.started else { return }
        self.started = true
        self.cap?.activated(context.channel)
        self.lastRead = .now()
        let loop = context.eventLoop.assumeIsolated()
        self.handshakeTimer = loop.scheduleTask(in: self.handshakeTimeout) {
            context.close(mode: .all, promise: nil)
        }
        self.scheduleLiveness(context: context, at: self.lastRead + self.livenessTimeout)
    }

    private func scheduleLiveness(context: ChannelHandlerContext, at deadline: NIODeadline) {
        self.livenessTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            let due = self.lastRead + self.livenessTimeout
            if due <= .now() {
                context.close(mode: .all, promise: nil)
            } else {
                self.scheduleLiveness(context: context, at: due)
            }
        }
    }

    private func stop() {
        self.handshakeTimer?.cancel()
        self.handshakeTimer = nil
        self.livenessTimer?.cancel()
        self.livenessTimer = nil
    }
}

import NIOCore
import NIOHTTPTypes

/// Closes an HTTP connection whose client is too slow for its phase
/// (`HTTPRequestPhase`): headers trickled a byte at a time (slowloris), a body
/// never finished, a kept-alive connection left idle. The deadline of a phase
/// is set when the phase starts; more bytes do not push it back.
final class HTTPTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: HTTPLimits
    private var phase = HTTPRequestPhase.responding
    private var timer: Scheduled<Void>?
    private var started = false

    init(limits: HTTPLimits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head: self.enter(.headParsed, context: context)
        case .body: break
        case .end: self.enter(.requestEnded, context: context)
        }
        context.fireChannelRead(data)
    }

    /// The decoder reports every socket read here, even one that completed no
    /// part: on an idle connection that is the next request's first byte.
    func channelReadComplete(context: ChannelHandlerContext) {
        self.enter(.bytesArrived, context: context)
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Before writing: the end may release a pipelined request at once.
        if case .end = self.unwrapOutboundIn(data) { self.enter(.responseEnded, context: context) }
        context.write(data, promise: promise)
    }

    private func start(context: ChannelHandlerContext) {
        guard !self.started else { return }
        self.started = true
        self.enter(.connected, context: context)
    }

    private func enter(_ event: HTTPRequestPhase.Event, context: ChannelHandlerContext) {
        let next = self.phase.next(event)
        guard next != self.phase || event == .connected else { return }
        self.phase = next
        self.timer?.cancel()
        self.timer = nil
        guard let timeout = next.timeout(self.limits) else { return }
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) {
            context.close(mode: .all, promise: nil)
        }
    }
}

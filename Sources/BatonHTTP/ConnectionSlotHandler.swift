import BatonModel
import NIOCore

/// Holds one of the server's connection places for as long as its connection
/// is open; a connection that finds none is closed once active, before a
/// byte is read (closing it in the child initializer, before registration,
/// would fail the accept and with it the listener).
final class ConnectionSlotHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let slots: Slots
    private var held = false

    init(slots: Slots) {
        self.slots = slots
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.held = self.slots.take()
        if !self.held, context.channel.isActive { context.close(mode: .all, promise: nil) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if !self.held {
            context.close(mode: .all, promise: nil)
            return
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if self.held { context.fireChannelRead(data) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.release()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.release()
        context.fireChannelInactive()
    }

    private func release() {
        guard self.held else { return }
        self.held = false
        self.slots.give()
    }
}

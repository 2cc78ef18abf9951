import NIOCore

/// Closes its connection as soon as it is active: how a connection over the
/// cap is turned away. Closing it inside the child initializer instead (before
/// it is registered) fails the accept, and NIO then fails the listener's
/// accept stream, which would stop the whole server.
final class RefuseConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    init() {}

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { context.close(mode: .all, promise: nil) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.close(mode: .all, promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// An HTTP/1.0 request without `Connection: keep-alive` asks the server to
/// close the connection after the response; Hummingbird keeps it open unless
/// told `Connection: close`, and a client reading to the end of the stream
/// then waits for its own timeout. This says it for the request, on the
/// HTTP/1 side of Hummingbird's codec, which drops the version.
final class HTTP10Close: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(var head) = self.unwrapInboundIn(data), head.version == .http1_0, !head.isKeepAlive {
            head.headers.replaceOrAdd(name: "Connection", value: "close")
            context.fireChannelRead(self.wrapInboundOut(.head(head)))
            return
        }
        context.fireChannelRead(data)
    }

    /// Hummingbird adds a server's own handlers after its codec: this one,
    /// added there, puts an `HTTP10Close` before the codec and stays a no-op.
    final class Installer: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = NIOAny

        func handlerAdded(context: ChannelHandlerContext) {
            let pipeline = context.pipeline.syncOperations
            guard let codec = try? pipeline.handler(type: HTTP1ToHTTPServerCodec.self) else { return }
            try? pipeline.addHandler(HTTP10Close(), position: .before(codec))
        }
    }
}

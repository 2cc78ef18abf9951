import GRPCCore

/// Refuses a request message over `maxBytes` with RESOURCE_EXHAUSTED naming
/// the limit, as every other refusal is a status. The HTTP/2 transport cuts
/// a message over its own limit with RST_STREAM (the client sees CANCELLED
/// and no reason), so `GRPCLimits` sets that limit above ours
/// (`transportRequestBytes`): a message between the two is read, then
/// refused here before it is decoded; only one past the transport's limit
/// is still reset.
struct RequestSizeLimit<Base: ServerTransport>: ServerTransport {
    typealias Bytes = Base.Bytes

    let base: Base
    let maxBytes: Int

    func configure(context: GRPCServerContext) {
        self.base.configure(context: context)
    }

    func listen(
        streamHandler: @escaping @Sendable (_ stream: RPCStream<Inbound, Outbound>, _ context: ServerContext) async -> Void
    ) async throws {
        let maxBytes = self.maxBytes
        try await self.base.listen { stream, context in
            let inbound = stream.inbound.map { part -> RPCRequestPart<Bytes> in
                if case .message(let bytes) = part, bytes.count > maxBytes {
                    throw RPCError(
                        code: .resourceExhausted,
                        message: "the request message is \(bytes.count) bytes; this server accepts at most \(maxBytes) (--grpc-max-request-bytes)"
                    )
                }
                return part
            }
            await streamHandler(RPCStream(descriptor: stream.descriptor, inbound: RPCAsyncSequence(wrapping: inbound), outbound: stream.outbound), context)
        }
    }

    func beginGracefulShutdown() {
        self.base.beginGracefulShutdown()
    }
}

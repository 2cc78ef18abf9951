import BatonAuth
import BatonProto
import BatonService
import GRPCCore
import Hummingbird
import Logging
import NIOCore

/// A task's live state as Server-Sent Events: `event: task` with the task's
/// JSON at once and at each change, until it is terminal; a comment line
/// every `keepAlive` so proxies keep the stream and a vanished client is
/// noticed. An error after the stream began is a last `event: error` with
/// the problem body.
struct TaskEventStream: Sendable {
    let service: TaskService
    let taskID: String
    let caller: Caller
    let keepAlive: Duration

    var response: Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-store", .init("X-Accel-Buffering")!: "no"],
            body: ResponseBody { writer in
                // The body is written after the route returned: the caller goes along.
                try await Caller.$current.withValue(self.caller) { try await self.stream(to: &writer) }
                try await writer.finish(nil)
            }
        )
    }

    private func stream(to writer: inout any ResponseBodyWriter) async throws {
        let (chunks, sink) = AsyncStream.makeStream(of: ByteBuffer.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { sink.finish() }
                do {
                    try await self.service.watchTask(.with { $0.taskID = self.taskID }) { task in
                        sink.yield(Self.event("task", try task.jsonString()))
                    }
                } catch is CancellationError {
                } catch {
                    let problem = Problem(RPCErrors.map(error, logger: Logger(label: "baton.rest"), operation: "WatchTask"))
                    sink.yield(Self.event("error", String(decoding: problem.json, as: UTF8.self)))
                }
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: self.keepAlive)
                    sink.yield(ByteBuffer(string: ": keep-alive\n\n"))
                }
            }
            // A write that fails (the client left) ends the group, and the watch with it.
            for await chunk in chunks { try await writer.write(chunk) }
            group.cancelAll()
        }
    }

    static func event(_ name: String, _ data: String) -> ByteBuffer {
        ByteBuffer(string: "event: \(name)\ndata: \(data)\n\n")
    }
}

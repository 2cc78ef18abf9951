import BatonModel
import Synchronization

/// In-process Swift handlers, registered by name. A type's `endpoint` names
/// its handler; an empty endpoint means the type's own name.
public final class LocalExecutor: TaskExecutor {
    public typealias Handler = @Sendable (ExecutionContext, [String: String]) async throws -> String

    private let handlers = Mutex<[String: Handler]>([:])

    public init() {}

    public func register(_ name: String, _ handler: @escaping Handler) {
        self.handlers.withLock { $0[name] = handler }
    }

    /// The names of the registered handlers.
    public var handlerNames: [String] { self.handlers.withLock { Array($0.keys) } }

    public func execute(_ context: ExecutionContext, payload: [String: String], config: TaskConfigRecord) async throws -> String {
        let name = config.endpoint.isEmpty ? config.taskType : config.endpoint
        guard let handler = self.handlers.withLock({ $0[name] }) else {
            throw ExecutionFailure("no local handler named \"\(name)\" on worker \(context.workerID)", retryable: false)
        }
        return try await handler(context, payload)
    }
}

import BatonModel
import Synchronization

/// In-process Swift handlers, registered by name. A type's `endpoint` names
/// its handler; an empty endpoint means the type's own name.
///
/// Two kinds: string-map handlers (`context, payload in …`), and typed ones
/// (`(args: Charge, context) in … return receipt`) whose Decodable input is
/// decoded from the task's args, or from its payload map when it was created
/// with strings, and whose Encodable output's JSON is the task's result.
public final class LocalExecutor: TaskExecutor {
    public typealias Handler = @Sendable (ExecutionContext, [String: String]) async throws -> String

    private let handlers = Mutex<[String: Entry]>([:])

    /// A string-map handler sees a task's args as strings (`HandlerArguments.strings`);
    /// a typed one decodes them itself.
    private enum Entry {
        case strings(Handler)
        case typed(Handler)
    }

    public init() {}

    public func register(_ name: String, _ handler: @escaping Handler) {
        self.handlers.withLock { $0[name] = .strings(handler) }
    }

    /// Registers a typed handler:
    /// `local.register("charge") { (args: Charge, context: ExecutionContext) async throws -> Receipt in … }`.
    /// Input that does not decode as `Arguments` fails the attempt, not retried,
    /// naming the field; a `String` output is the result as it is.
    public func register<Arguments: Decodable & SendableMetatype, Output: Encodable & SendableMetatype>(
        _ name: String, _ handler: @escaping @Sendable (Arguments, ExecutionContext) async throws -> Output
    ) {
        let entry = Entry.typed { context, payload in
            let arguments = try HandlerArguments.decode(Arguments.self, args: context.args, payload: payload)
            return try HandlerArguments.result(try await handler(arguments, context))
        }
        self.handlers.withLock { $0[name] = entry }
    }

    /// The names of the registered handlers.
    public var handlerNames: [String] { self.handlers.withLock { Array($0.keys) } }

    public func execute(_ context: ExecutionContext, payload: [String: String], config: TaskConfigRecord) async throws -> String {
        let name = config.endpoint.isEmpty ? config.taskType : config.endpoint
        guard let entry = self.handlers.withLock({ $0[name] }) else {
            throw ExecutionFailure("no local handler named \"\(name)\" on worker \(context.workerID)", retryable: false)
        }
        switch entry {
        case .typed(let handler):
            return try await handler(context, payload)
        case .strings(let handler):
            // Only a task created with args pays for the conversion.
            guard let args = context.args else { return try await handler(context, payload) }
            return try await handler(context, try HandlerArguments.strings(args))
        }
    }
}

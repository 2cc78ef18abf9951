import BatonModel
import Synchronization

/// Maps an executor kind (`task_config.executor`) to its implementation.
public final class ExecutorRegistry: Sendable {
    public let local: LocalExecutor
    private let executors: Mutex<[TaskConfigRecord.Executor: any TaskExecutor]>

    /// A registry with the local executor and its built-in handlers.
    public init() {
        let local = LocalExecutor()
        BuiltinHandlers.register(on: local)
        self.local = local
        self.executors = Mutex([.local: local])
    }

    /// Registers an in-process handler: `registry.register("send_email") { context, payload in … }`.
    public func register(_ name: String, _ handler: @escaping LocalExecutor.Handler) {
        self.local.register(name, handler)
    }

    /// Registers a typed in-process handler: its input decoded from the task's
    /// args (or payload), its output's JSON the task's result:
    /// `registry.register("charge") { (args: Charge, context: ExecutionContext) async throws -> Receipt in … }`.
    public func register<Arguments: Decodable & SendableMetatype, Output: Encodable & SendableMetatype>(
        _ name: String, _ handler: @escaping @Sendable (Arguments, ExecutionContext) async throws -> Output
    ) {
        self.local.register(name, handler)
    }

    public func set(_ executor: any TaskExecutor, for kind: TaskConfigRecord.Executor) {
        self.executors.withLock { $0[kind] = executor }
    }

    public func executor(for kind: TaskConfigRecord.Executor) -> (any TaskExecutor)? {
        self.executors.withLock { $0[kind] }
    }

    /// What this worker can run (`ExecutorCapability`): its remote executor
    /// kinds and its local handlers' names, sorted. Read at every heartbeat,
    /// so a handler registered later is advertised from the next beat.
    public func capabilities() -> [String] {
        let kinds = self.executors.withLock { Array($0.keys) }.filter { $0 != .local }.map(ExecutorCapability.kind)
        let handlers = self.executors.withLock { $0[.local] } == nil ? [] : self.local.handlerNames.filter(ExecutorCapability.isAdvertisable)
        return (kinds + handlers).sorted()
    }
}

import BatonBroker
import BatonModel
import BatonStore
import BatonWorker
import Logging
import ServiceLifecycle
import Tracing

/// A worker and what it runs tasks with: the executor registry (local
/// handlers, HTTP and gRPC executors), the task-log writer, the heartbeat.
/// The node and the test harnesses build workers here and nowhere else.
public struct WorkerAssembly: Sendable {
    public let registry: ExecutorRegistry
    public let http: HTTPExecutor
    public let grpc: GRPCExecutor
    public let logs: TaskLogWriter
    public let worker: Worker

    /// `registry` holds the local handlers (the HTTP and gRPC executors are
    /// set on it here); `egress` is enforced by both remote executors on the
    /// address they connect to; `trustRootsFile` is their CA file (system
    /// roots when nil).
    public init(
        configuration: WorkerConfiguration, broker: RedisBroker, tasks: TaskStore, configs: TaskConfigCache, registry: ExecutorRegistry = ExecutorRegistry(),
        egress: EgressGuard = EgressGuard(), trustRootsFile: String? = nil, tracer: (any Tracer)? = nil, logger: Logger
    ) {
        self.registry = registry
        self.logs = TaskLogWriter(store: tasks, quietWindow: configuration.quietLogWindow, logger: logger)
        self.http = HTTPExecutor(egress: egress, trustRootsFile: trustRootsFile)
        self.grpc = GRPCExecutor(egress: egress, trustRootsFile: trustRootsFile, logger: logger)
        self.registry.set(self.http, for: .http)
        self.registry.set(self.grpc, for: .grpc)
        self.worker = Worker(
            configuration: configuration, broker: broker, tasks: tasks, configs: configs, registry: self.registry, logs: self.logs, tracer: tracer,
            logger: logger
        )
    }

    /// In start order: the log writer before the worker that writes to it,
    /// the heartbeat before the worker takes work; a graceful stop goes in
    /// reverse, so the worker drains before its logs stop.
    public var services: [any Service] { [self.logs, self.grpc, self.worker.heartbeat(), self.worker] }

    /// Closes the HTTP executor's client (it traps if dropped while open).
    public func shutdown() async {
        try? await self.http.shutdown()
    }
}

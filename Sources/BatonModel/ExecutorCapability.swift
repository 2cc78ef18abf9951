/// What a worker must advertise to run a task type, in the words its
/// heartbeat and the dispatcher share: `@http` or `@grpc` for a remote
/// executor (every worker with that executor can call any endpoint), or the
/// name of the in-process handler a `local` type names (only a worker that
/// registered it can run it).
///
/// Why executor kinds and handler names rather than task type names: the
/// leader already keeps each type's row (its limits) in Redis; the row's
/// capability joins it there, so a worker needs no list of the cluster's
/// types and a new http type is served at once by every worker. The `@`
/// cannot start a handler name that a type may name (`ValidationLimits`).
public enum ExecutorCapability {
    /// The capability of a remote executor kind (`@http`, `@grpc`); of
    /// `local` it is `@local`, which no type requires.
    public static func kind(_ kind: TaskConfigRecord.Executor) -> String { "@" + kind.rawValue }

    /// What a worker must advertise to run tasks of `config`'s type.
    public static func required(by config: TaskConfigRecord) -> String {
        switch config.executor {
        case .local: config.endpoint.isEmpty ? config.taskType : config.endpoint
        case .http, .grpc: self.kind(config.executor)
        }
    }

    /// A handler name a worker can advertise: the list is comma-separated,
    /// and a name with a comma could never be named by a type anyway.
    public static func isAdvertisable(handler name: String) -> Bool {
        !name.isEmpty && !name.contains(",") && !name.hasPrefix("@")
    }
}

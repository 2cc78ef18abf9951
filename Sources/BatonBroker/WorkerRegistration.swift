/// What a worker's heartbeat states about it: what the dispatcher matches
/// work against and the dashboard shows. The broker alone knows how its
/// registry hash spells it (`fields`).
public struct WorkerRegistration: Sendable, Equatable {
    public var nodeID: String
    public var capacity: Int
    /// Entries the dispatcher may let it hold; nil leaves the window the
    /// worker last published (`RedisBroker.publishWindow`) as it is.
    public var window: Int?
    /// The types it runs; empty: every type.
    public var taskTypes: [String]
    /// The executor capabilities it has (`ExecutorCapability`); nil states
    /// none, and the dispatcher then takes it to run every executor (a
    /// worker of an older release).
    public var executors: [String]?
    /// A draining worker is given nothing more.
    public var draining: Bool

    public init(
        nodeID: String, capacity: Int, window: Int? = nil, taskTypes: [String] = [], executors: [String]? = nil, draining: Bool = false
    ) {
        self.nodeID = nodeID
        self.capacity = capacity
        self.window = window
        self.taskTypes = taskTypes
        self.executors = executors
        self.draining = draining
    }

    /// The registry hash's fields and values, as the dispatch script reads them.
    var fields: [String] {
        var fields = [
            "node_id", self.nodeID,
            "capacity", String(self.capacity),
            "types", self.taskTypes.isEmpty ? "*" : self.taskTypes.joined(separator: ","),
            "draining", self.draining ? "1" : "0",
        ]
        if let window = self.window { fields += ["window", String(window)] }
        if let executors = self.executors { fields += ["executors", executors.joined(separator: ",")] }
        return fields
    }
}

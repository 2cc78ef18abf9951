/// New or retried tasks refused because their type no longer exists or is
/// disabled, as read in the transaction that would have written them
/// (a node's config cache may not know yet).
public struct TaskTypeUnavailable: Error, Sendable, Equatable {
    /// The types that are gone or disabled, sorted.
    public let taskTypes: [String]

    public init(taskTypes: [String]) {
        self.taskTypes = taskTypes.sorted()
    }
}

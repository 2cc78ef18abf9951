import Foundation

/// An attempt a worker runs whose start is not written yet (the deferred
/// start, docs/deferred-start.md): as its worker's claim in Redis says it.
public struct UnwrittenStart: Sendable, Equatable {
    public var taskID: String
    public var generation: Int
    public var workerID: String
    public var startedAt: Date

    public init(taskID: String, generation: Int, workerID: String, startedAt: Date) {
        self.taskID = taskID
        self.generation = generation
        self.workerID = workerID
        self.startedAt = startedAt
    }
}

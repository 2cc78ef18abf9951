/// How the dispatcher picks among the workers that can take a task.
public enum DispatchStrategy: String, Sendable, CaseIterable {
    /// Fewest running + queued relative to capacity.
    case leastTask = "least_task"
    case roundRobin = "round_robin"
    case random
}

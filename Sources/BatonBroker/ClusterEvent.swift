/// An entry of the cluster's event stream.
public enum ClusterEvent: Sendable, Hashable {
    /// A task's row changed: watchers re-read it.
    case taskChanged(taskID: String)
    /// A task type's configuration changed: caches reload it.
    case configChanged(taskType: String)

    var fields: (kind: String, subject: String) {
        switch self {
        case .taskChanged(let id): ("task", id)
        case .configChanged(let type): ("config", type)
        }
    }

    init?(kind: String, subject: String) {
        switch kind {
        case "task": self = .taskChanged(taskID: subject)
        case "config": self = .configChanged(taskType: subject)
        default: return nil
        }
    }
}

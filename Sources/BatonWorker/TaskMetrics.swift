import Metrics
import Synchronization

/// The worker's per-type counters and timer, made once per type: creating a
/// metric looks it up in the registry under a lock, too much for every task.
final class TaskMetrics: Sendable {
    enum Outcome: String, CaseIterable, Sendable {
        case succeeded, failed, retried, cancelled
        case timedOut = "timed_out"
    }

    private struct Handles: Sendable {
        var started: Counter
        var outcomes: [Outcome: Counter]
        var execution: Metrics.Timer
    }

    private let byType = Mutex<[String: Handles]>([:])

    func started(_ type: String) { self.handles(type).started.increment() }

    func ended(_ type: String, _ outcome: Outcome) { self.handles(type).outcomes[outcome]?.increment() }

    func executed(_ type: String, took: Duration) { self.handles(type).execution.recordNanoseconds(took.wholeNanoseconds) }

    private func handles(_ type: String) -> Handles {
        if let found = self.byType.withLock({ $0[type] }) { return found }
        let dimensions = [("type", type)]
        let made = Handles(
            started: Counter(label: "baton_tasks_started_total", dimensions: dimensions),
            outcomes: Dictionary(uniqueKeysWithValues: Outcome.allCases.map { ($0, Counter(label: "baton_tasks_\($0.rawValue)_total", dimensions: dimensions)) }),
            execution: Metrics.Timer(label: "baton_task_execution_seconds", dimensions: dimensions)
        )
        return self.byType.withLock { cached in
            if let found = cached[type] { return found }
            cached[type] = made
            return made
        }
    }
}

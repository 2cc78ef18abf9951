import Metrics
import Synchronization

/// The worker's per-type counters and timer, made once per type: creating a
/// metric looks it up in the registry under a lock, too much for every task.
final class TaskMetrics: Sendable {
    enum Outcome: String, CaseIterable, Sendable {
        case succeeded, failed, retried, cancelled
        case timedOut = "timed_out"
    }

    /// A class: a lookup hands out one reference, not a copy of four.
    private final class Handles: Sendable {
        let started: Counter
        let execution: Metrics.Timer
        /// In `Outcome.allCases` order.
        let outcomes: [Counter]

        init(type: String) {
            let dimensions = [("type", type)]
            self.started = Counter(label: "baton_tasks_started_total", dimensions: dimensions)
            self.execution = Metrics.Timer(label: "baton_task_execution_seconds", dimensions: dimensions)
            self.outcomes = Outcome.allCases.map { Counter(label: "baton_tasks_\($0.rawValue)_total", dimensions: dimensions) }
        }
    }

    private let byType = Mutex<[String: Handles]>([:])

    func started(_ type: String) { self.handles(type).started.increment() }

    func ended(_ type: String, _ outcome: Outcome) { self.handles(type).outcomes[outcome.index].increment() }

    func executed(_ type: String, took: Duration) { self.handles(type).execution.recordNanoseconds(took.wholeNanoseconds) }

    private func handles(_ type: String) -> Handles {
        if let found = self.byType.withLock({ $0[type] }) { return found }
        let made = Handles(type: type)
        return self.byType.withLock { cached in
            if let found = cached[type] { return found }
            cached[type] = made
            return made
        }
    }
}

extension TaskMetrics.Outcome {
    /// Its place in `allCases`.
    var index: Int {
        switch self {
        case .succeeded: 0
        case .failed: 1
        case .retried: 2
        case .cancelled: 3
        case .timedOut: 4
        }
    }
}

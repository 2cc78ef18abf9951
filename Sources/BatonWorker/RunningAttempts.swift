import BatonBroker
import BatonModel
import Synchronization

/// The attempts a worker started and has not settled, each with the signal
/// that stops it and, once it has its slot, its deadline. Keyed by task and
/// attempt: one task may come back to the same worker as a new attempt
/// while its last one still ends.
final class RunningAttempts: Sendable {
    private struct Key: Hashable {
        var taskID: String
        var attempt: Int

        init(_ task: TaskRecord) {
            self.taskID = task.taskID
            self.attempt = task.attempt
        }
    }

    private struct Running {
        var signal: CancelSignal
        /// Set when the attempt gets its slot: its timeout counts from then.
        var deadline: ContinuousClock.Instant?
    }

    private let attempts = Mutex<[Key: Running]>([:])

    var isEmpty: Bool { self.attempts.withLock { $0.isEmpty } }

    /// Every running attempt's signal.
    var signals: [CancelSignal] { self.attempts.withLock { $0.values.map(\.signal) } }

    func started(_ task: TaskRecord, signal: CancelSignal) {
        self.attempts.withLock { $0[Key(task)] = Running(signal: signal) }
    }

    /// The attempt got its slot: it times out at `deadline`.
    func began(_ task: TaskRecord, deadline: ContinuousClock.Instant) {
        self.attempts.withLock { $0[Key(task)]?.deadline = deadline }
    }

    func settled(_ task: TaskRecord) {
        _ = self.attempts.withLock { $0.removeValue(forKey: Key(task)) }
    }

    /// The signals of the attempts these cancel notices name.
    func signals(cancelledBy notices: [CancelNotice]) -> [CancelSignal] {
        self.attempts.withLock { attempts in
            attempts.filter { key, _ in notices.contains { $0.matches(taskID: key.taskID, attempt: key.attempt) } }.map(\.value.signal)
        }
    }

    /// The signals of the attempts past their deadline at `now`.
    func overdue(at now: ContinuousClock.Instant) -> [CancelSignal] {
        self.attempts.withLock { $0.values.filter { $0.deadline.map { $0 <= now } ?? false }.map(\.signal) }
    }
}

import BatonModel
import BatonStore
import DequeModule
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Buffers task log lines and writes them with multi-row inserts, at most
/// `flushInterval` after they were written. Caps lines per task: past the
/// cap one "truncated" line is written and the rest dropped. Caps each line
/// at `maxLineBytes` when it is written: a multi-row insert carries other
/// tasks' lines, and one huge failure message must not push it past
/// MariaDB's packet limit (64 lines of 64 KiB stay far below 16 MiB).
///
/// A plain success writes no lines of its own: an attempt's "started" line
/// is held (`hold`) for `quietWindow`, and an attempt that succeeds within
/// it drops it (`endQuietly`) and writes no "succeeded" line either. The
/// task's row already says which attempt ran on which worker, when it
/// started and finished; two rows of `task_logs` per task were most of what
/// MariaDB wrote for a short task. Anything else the attempt logs (its
/// handler's lines, a failure, a retry, a cancel, a hand-back) and an
/// attempt that outlasts the window write the held line first, in order.
public final class TaskLogWriter: Service, Sendable {
    private struct State {
        var pending: [TaskLogRecord] = []
        var linesPerTask: [String: Int] = [:]
        /// Held "started" lines, by task, with when each was held.
        var held: [String: (line: TaskLogRecord, at: ContinuousClock.Instant)] = [:]
        /// The same in the order they were held (so by time): a flush looks
        /// only at those past the window, not at every held line. An entry
        /// whose line has gone meanwhile (or was held anew) stays until its
        /// time and is then skipped: never more than one window's holds.
        var heldOrder: Deque<(taskID: String, at: ContinuousClock.Instant)> = []
    }

    private let store: any AttemptStore
    private let flushInterval: Duration
    private let maxLinesPerTask: Int
    private let maxLineBytes: Int
    private let quietWindow: Duration
    private let logger: Logger
    private let state = Mutex(State())

    public init(
        store: any AttemptStore, flushInterval: Duration = .milliseconds(50), maxLinesPerTask: Int = 10_000, maxLineBytes: Int = 64 << 10,
        quietWindow: Duration = .seconds(1), logger: Logger
    ) {
        self.store = store
        self.flushInterval = flushInterval
        self.maxLinesPerTask = maxLinesPerTask
        self.maxLineBytes = maxLineBytes
        self.quietWindow = quietWindow
        self.logger = logger
    }

    public func write(_ line: TaskLogRecord) {
        var line = line
        if line.message.utf8.count > self.maxLineBytes {
            line.message = String(decoding: line.message.utf8.prefix(self.maxLineBytes), as: UTF8.self) + "…(truncated)"
        }
        self.state.withLock { state in
            Self.release(line.taskID, in: &state)
            self.append(line, to: &state)
        }
    }

    /// Holds an attempt's "started" line: written once anything else of the
    /// task is, or when the attempt outlasts `quietWindow`; dropped when it
    /// succeeds before either (`endQuietly`).
    public func hold(_ line: TaskLogRecord) {
        self.state.withLock { state in
            Self.release(line.taskID, in: &state)
            let now = ContinuousClock.now
            state.held[line.taskID] = (line, now)
            state.heldOrder.append((line.taskID, now))
        }
    }

    /// The attempt succeeded: true when its "started" line was still held
    /// (now dropped), so its success writes no line either; false when the
    /// line was written, and the success should be too.
    public func endQuietly(_ taskID: String) -> Bool {
        self.state.withLock { $0.held.removeValue(forKey: taskID) != nil }
    }

    /// The task has finished on this worker: its line count can go (a line
    /// still held is written: its attempt did not end quietly).
    public func forget(_ taskID: String) {
        self.state.withLock { state in
            Self.release(taskID, in: &state)
            state.linesPerTask.removeValue(forKey: taskID)
        }
    }

    private func append(_ line: TaskLogRecord, to state: inout State) {
        let count = state.linesPerTask[line.taskID, default: 0]
        if count < self.maxLinesPerTask {
            state.pending.append(line)
        } else if count == self.maxLinesPerTask {
            var truncated = line
            truncated.level = "WARN"
            truncated.message = "log truncated after \(self.maxLinesPerTask) lines"
            state.pending.append(truncated)
        }
        state.linesPerTask[line.taskID] = count + 1
    }

    /// Moves a held line to the pending ones (before whatever comes next of its task).
    private static func release(_ taskID: String, in state: inout State) {
        guard let held = state.held.removeValue(forKey: taskID) else { return }
        state.pending.append(held.line)
        state.linesPerTask[taskID, default: 0] += 1
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.flushInterval)
                await self.flush()
            }
        }
        await self.flush()
    }

    public func flush() async {
        let outlasted = ContinuousClock.now - self.quietWindow
        let lines = self.state.withLock { state in
            while let first = state.heldOrder.first, first.at <= outlasted {
                state.heldOrder.removeFirst()
                if state.held[first.taskID]?.at == first.at { Self.release(first.taskID, in: &state) }
            }
            defer { state.pending.removeAll(keepingCapacity: true) }
            return state.pending
        }
        guard !lines.isEmpty else { return }
        do {
            try await self.store.appendLogs(lines)
        } catch {
            // Put them back for the next flush; MySQL may be back by then.
            self.state.withLock { $0.pending.insert(contentsOf: lines.suffix(50_000), at: 0) }
            self.logger.warning("task logs not written yet", metadata: ["lines": "\(lines.count)", "error": "\(error)"])
        }
    }
}

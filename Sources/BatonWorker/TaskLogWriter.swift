import BatonModel
import BatonStore
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
public final class TaskLogWriter: Service, Sendable {
    private struct State {
        var pending: [TaskLogRecord] = []
        var linesPerTask: [String: Int] = [:]
    }

    private let store: TaskStore
    private let flushInterval: Duration
    private let maxLinesPerTask: Int
    private let maxLineBytes: Int
    private let logger: Logger
    private let state = Mutex(State())

    public init(
        store: TaskStore, flushInterval: Duration = .milliseconds(50), maxLinesPerTask: Int = 10_000, maxLineBytes: Int = 64 << 10,
        logger: Logger
    ) {
        self.store = store
        self.flushInterval = flushInterval
        self.maxLinesPerTask = maxLinesPerTask
        self.maxLineBytes = maxLineBytes
        self.logger = logger
    }

    public func write(_ line: TaskLogRecord) {
        var line = line
        if line.message.utf8.count > self.maxLineBytes {
            line.message = String(decoding: line.message.utf8.prefix(self.maxLineBytes), as: UTF8.self) + "…(truncated)"
        }
        self.state.withLock { state in
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
    }

    /// The task has finished on this worker: its line count can go.
    public func forget(_ taskID: String) {
        _ = self.state.withLock { $0.linesPerTask.removeValue(forKey: taskID) }
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
        let lines = self.state.withLock { state in
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

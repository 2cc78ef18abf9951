import BatonBroker
import BatonStore
import Logging
import Synchronization

/// Records SCHEDULED for dispatched tasks a moment after their dispatch, many
/// rounds in one statement. By then most have started, and the conditional
/// UPDATE only looks their rows up: on a busy cluster this saves a row and
/// index change per task. A task still waiting on a worker's queue reads
/// SCHEDULED after `delay`; one that started first goes QUEUED → RUNNING.
/// Marks still pending when leadership ends are dropped: SCHEDULED only
/// tells where a task waits, and the worker's start accepts QUEUED alike.
final class ScheduledMarker: Sendable {
    /// Rows per statement.
    static let chunk = 256

    private let tasks: TaskStore
    private let clock: ClusterClock
    private let fence: LeaderFence?
    private let delay: Duration
    private let logger: Logger
    private let pending = Mutex<[TaskStore.Assignment]>([])
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(tasks: TaskStore, clock: ClusterClock, fence: LeaderFence?, delay: Duration, logger: Logger) {
        self.tasks = tasks
        self.clock = clock
        self.fence = fence
        self.delay = delay
        self.logger = logger
        (self.wakes, self.wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func add(_ assignments: [TaskStore.Assignment]) {
        guard !assignments.isEmpty else { return }
        self.pending.withLock { $0 += assignments }
        self.wake.yield()
    }

    func run() async {
        for await _ in self.wakes {
            guard (try? await Task.sleep(for: self.delay)) != nil else { return }
            let batch = self.pending.withLock { pending in
                defer { pending = [] }
                return pending
            }
            for start in stride(from: 0, to: batch.count, by: Self.chunk) {
                do {
                    try await self.tasks.markScheduled(
                        Array(batch[start..<min(start + Self.chunk, batch.count)]), now: self.clock.now(), fence: self.fence
                    )
                } catch {
                    self.logger.warning("could not record SCHEDULED", metadata: ["tasks": "\(batch.count - start)", "error": "\(error)"])
                    break
                }
            }
        }
    }
}

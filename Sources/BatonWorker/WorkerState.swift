import BatonBroker
import BatonStore
import Logging
import Synchronization

/// What the parts of one worker share: the consumer (`WorkConsumer`) starts
/// attempts into it, the runner (`AttemptRunner`) runs and settles them, and
/// the worker's watches (cancels, deadlines, saturation, the window) read it.
final class WorkerState: Sendable {
    let configuration: WorkerConfiguration
    let broker: any WorkerBroker
    let tasks: any AttemptStore
    let logger: Logger
    let slots: ExecutionSlots
    /// How much work the pipeline needs to keep the slots busy.
    let prefetch: Mutex<Prefetch>
    let running = RunningAttempts()
    let outcomes: OutcomeRecorder
    private let stopping = Atomic<Bool>(false)
    private let fenced = Atomic<Bool>(false)

    init(configuration: WorkerConfiguration, broker: any WorkerBroker, tasks: any AttemptStore, logger: Logger) {
        self.configuration = configuration
        self.broker = broker
        self.tasks = tasks
        self.logger = logger
        self.slots = ExecutionSlots(capacity: configuration.capacity)
        self.prefetch = Mutex(Prefetch(capacity: configuration.capacity, maxWindow: configuration.maxWindow))
        self.outcomes = OutcomeRecorder(workerID: configuration.workerID, tasks: tasks, broker: broker, logger: logger)
    }

    var workerID: String { self.configuration.workerID }

    /// A stop was asked for (a graceful stop, or fenced): no more work is taken.
    var stopRequested: Bool { self.stopping.load(ordering: .relaxed) }

    var isStopping: Bool { self.stopRequested || Task.isCancelled }

    /// The leader declared this worker dead.
    var isFenced: Bool { self.fenced.load(ordering: .relaxed) }

    /// Takes no more work; attempts waiting for a slot stop waiting.
    func stop() {
        self.stopping.store(true, ordering: .relaxed)
        self.slots.interrupt()
    }

    /// Marks the worker fenced and stops it; false when it was already.
    func fence() -> Bool {
        guard !self.fenced.exchange(true, ordering: .relaxed) else { return false }
        self.stop()
        return true
    }
}

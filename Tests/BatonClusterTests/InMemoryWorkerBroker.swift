import BatonBroker
import BatonModel
import Foundation
import Synchronization

/// One worker's lists in memory, for the worker's pipeline without a Redis:
/// its queues (high and normal), its in-flight list and its cancel list, as
/// the take, acknowledge and hand-back scripts move entries between them, and
/// the cluster's queues what it hands back goes to (front first). What the
/// worker asked is kept in order for a test to read. The inbox's waits poll
/// every millisecond up to their timeout; nobody rings a bell.
final class InMemoryWorkerBroker: WorkerBroker {
    private struct State {
        var high: [QueueEntry] = []
        var normal: [QueueEntry] = []
        var inFlight: [QueueEntry] = []
        var cancels: [CancelNotice] = []
        var shared: [QueueEntry] = []
        var acknowledged: [(entry: QueueEntry, due: Int64)] = []
        var handedBackInFlight: [QueueEntry] = []
        var handBackQueuedCalls = 0
        var draining = false
        var windows: [Int] = []
        var enqueued: [TaskRecord] = []
    }

    let cluster = "memory"
    let clock = ClusterClock()
    let workerID: String
    private let state = Mutex(State())

    init(workerID: String) {
        self.workerID = workerID
    }

    // MARK: what a test does and reads

    /// What the dispatcher does: entries onto the worker's queue of their priority.
    func give(_ entries: [QueueEntry]) {
        self.state.withLock { state in
            for entry in entries {
                if entry.priority == .high { state.high.append(entry) } else { state.normal.append(entry) }
            }
        }
    }

    /// What a cancel does: a notice on the worker's cancel list.
    func cancel(_ notice: CancelNotice) {
        self.state.withLock { $0.cancels.append(notice) }
    }

    /// Entries still on the worker's queues (given, never taken).
    var queued: [QueueEntry] { self.state.withLock { $0.high + $0.normal } }
    var inFlight: [QueueEntry] { self.state.withLock { $0.inFlight } }
    /// The cluster's queues: what went back, front first.
    var shared: [QueueEntry] { self.state.withLock { $0.shared } }
    var acknowledged: [(entry: QueueEntry, due: Int64)] { self.state.withLock { $0.acknowledged } }
    var handedBackInFlight: [QueueEntry] { self.state.withLock { $0.handedBackInFlight } }
    var handBackQueuedCalls: Int { self.state.withLock { $0.handBackQueuedCalls } }
    var draining: Bool { self.state.withLock { $0.draining } }

    // MARK: WorkerBroker

    func registerWorker(nodeID: String, workerID: String) async throws(BrokerError) -> String? { nil }

    func heartbeat(workerID: String, ttl: Duration, registration: WorkerRegistration) async throws(BrokerError) -> Bool { true }

    func deregisterWorker(nodeID: String, workerID: String) async throws(BrokerError) -> Bool {
        self.state.withLock { $0.inFlight.isEmpty && $0.high.isEmpty && $0.normal.isEmpty }
    }

    func publishWindow(workerID: String, window: Int) async throws(BrokerError) {
        self.state.withLock { $0.windows.append(window) }
    }

    func markDraining(workerID: String) async throws(BrokerError) {
        self.state.withLock { $0.draining = true }
    }

    func take(workerID: String, count: Int, highOnly: Bool) async throws(BrokerError) -> [QueueEntry] {
        precondition(workerID == self.workerID, "another worker's queues")
        return self.state.withLock { state in
            let high = Array(state.high.prefix(count))
            state.high.removeFirst(high.count)
            let normal = highOnly ? [] : Array(state.normal.prefix(count - high.count))
            state.normal.removeFirst(normal.count)
            state.inFlight += high + normal
            return high + normal
        }
    }

    func withInbox<T>(workerID: String, _ body: (any WorkerInbox) async throws -> T) async throws -> T {
        try await body(Inbox(workerID: workerID, broker: self))
    }

    /// As the script does: off the in-flight list if there, a retry's next entry due at `due`.
    func acknowledge(workerID: String, _ entries: [(entry: QueueEntry, due: Int64)]) async throws(BrokerError) {
        self.state.withLock { state in
            for (entry, _) in entries {
                if let index = state.inFlight.firstIndex(of: entry) { state.inFlight.remove(at: index) }
            }
            state.acknowledged += entries
        }
    }

    func handBackInFlight(workerID: String, _ entries: [QueueEntry]) async throws(BrokerError) {
        self.state.withLock { state in
            let held = entries.filter { entry in
                guard let index = state.inFlight.firstIndex(of: entry) else { return false }
                state.inFlight.remove(at: index)
                return true
            }
            state.shared.insert(contentsOf: held, at: 0)
            state.handedBackInFlight += entries
        }
    }

    func handBackQueued(workerID: String) async throws(BrokerError) -> Int {
        self.state.withLock { state in
            let back = state.high + state.normal
            state.high = []
            state.normal = []
            state.shared.insert(contentsOf: back, at: 0)
            state.handBackQueuedCalls += 1
            return back.count
        }
    }

    func enqueue(_ tasks: [TaskRecord], now: Date?) async throws(BrokerError) {
        self.state.withLock { $0.enqueued += tasks }
    }

    func announce(_ taskIDs: [String]) async throws(BrokerError) {}

    /// The worker's blocking waits, answered from the broker's lists.
    private struct Inbox: WorkerInbox {
        let workerID: String
        let broker: InMemoryWorkerBroker

        func take(count: Int, highOnly: Bool) async throws(BrokerError) -> [QueueEntry] {
            try await self.broker.take(workerID: self.workerID, count: count, highOnly: highOnly)
        }

        func waitForWork(high: Bool, timeout: Duration) async throws(BrokerError) {
            await self.poll(timeout) { !$0.high.isEmpty || (!high && !$0.normal.isEmpty) }
        }

        func cancels(timeout: Duration) async throws(BrokerError) -> [CancelNotice] {
            await self.poll(timeout) { !$0.cancels.isEmpty }
            return self.broker.state.withLock { state in
                defer { state.cancels = [] }
                return state.cancels
            }
        }

        private func poll(_ timeout: Duration, until ready: (State) -> Bool) async {
            let deadline = ContinuousClock.now + timeout
            while !self.broker.state.withLock({ ready($0) }), ContinuousClock.now < deadline, !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
    }
}

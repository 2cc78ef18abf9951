import Synchronization

/// What a worker holds, by stage: attempts `ready` (started in MySQL, waiting
/// for an execution slot), `running` (in an executor call: at most
/// `capacity`, what a business service feels), and `settling` (the executor
/// returned; the outcome waits for its group write and acknowledgement).
///
/// A slot means an execution: it frees the moment the executor returns, so a
/// slow outcome write never idles an executor. Ready attempts take slots in
/// the order they started, high-priority ones first (but a normal one gets
/// every `capacity + 1`-th slot while both wait, so a flood of high work
/// never holds a started normal attempt until its deadline). The consumer loop waits for room in the ready and
/// running stages together, and while too many outcomes are settling (so
/// memory stays bounded when MySQL is slow).
final class ExecutionSlots: Sendable {
    private struct State {
        var ready = 0
        var running = 0
        var settling = 0
        var interrupted = false
        /// Ready attempts waiting for a slot, oldest first; high-priority ones apart.
        var waiters: [CheckedContinuation<Bool, Never>] = []
        var highWaiters: [CheckedContinuation<Bool, Never>] = []
        /// High grants in a row while normal attempts waited.
        var highStreak = 0
        /// The consumer loop, with the room it waits for.
        var consumer: (continuation: CheckedContinuation<Void, Never>, target: Int, settleLimit: Int)?

        func hasRoom(target: Int, settleLimit: Int) -> Bool {
            self.interrupted || (self.ready + self.running < target && self.settling < settleLimit)
        }

        /// Hands free slots to waiting attempts; returns who to resume.
        mutating func wake() -> (slots: [CheckedContinuation<Bool, Never>], consumer: CheckedContinuation<Void, Never>?) {
            var slots: [CheckedContinuation<Bool, Never>] = []
            while self.running < self.capacity, !self.highWaiters.isEmpty || !self.waiters.isEmpty {
                if !self.highWaiters.isEmpty && (self.waiters.isEmpty || self.highStreak < self.capacity) {
                    slots.append(self.highWaiters.removeFirst())
                    self.highStreak = self.waiters.isEmpty ? 0 : self.highStreak + 1
                } else {
                    slots.append(self.waiters.removeFirst())
                    self.highStreak = 0
                }
                self.ready -= 1
                self.running += 1
            }
            var consumer: CheckedContinuation<Void, Never>?
            if let waiting = self.consumer, self.hasRoom(target: waiting.target, settleLimit: waiting.settleLimit) {
                consumer = waiting.continuation
                self.consumer = nil
            }
            return (slots, consumer)
        }

        let capacity: Int
    }

    private let state: Mutex<State>
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        self.state = Mutex(State(capacity: capacity))
    }

    /// Attempts held in any stage (a graceful stop waits for none).
    var held: Int { self.state.withLock { $0.ready + $0.running + $0.settling } }
    /// Attempts ready or running.
    var active: Int { self.state.withLock { $0.ready + $0.running } }
    /// Attempts whose outcome is being written.
    var settling: Int { self.state.withLock { $0.settling } }
    /// High-priority attempts waiting for a slot.
    var highWaiting: Int { self.state.withLock { $0.highWaiters.count } }
    /// Attempts of any priority waiting for a slot.
    var waiting: Int { self.state.withLock { $0.waiters.count + $0.highWaiters.count } }

    /// Waits until fewer than `target` attempts are ready or running and
    /// fewer than `settleLimit` are settling (one waiter: the consumer loop).
    func waitForRoom(target: Int, settleLimit: Int) async {
        await withCheckedContinuation { continuation in
            let ready = self.state.withLock { state in
                if state.hasRoom(target: target, settleLimit: settleLimit) { return true }
                state.consumer = (continuation, target, settleLimit)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Counts `count` newly started attempts as ready.
    func started(_ count: Int) {
        self.state.withLock { $0.ready += count }
    }

    /// Waits for an execution slot, in start order (high priority ahead of
    /// normal). False when the worker stops first: the attempt then leaves
    /// the ready stage without running.
    func acquire(high: Bool = false) async -> Bool {
        await withCheckedContinuation { continuation in
            let granted: Bool? = self.state.withLock { state in
                if state.interrupted {
                    state.ready -= 1
                    return false
                }
                if state.running < state.capacity, state.highWaiters.isEmpty, high || state.waiters.isEmpty {
                    state.ready -= 1
                    state.running += 1
                    return true
                }
                if high { state.highWaiters.append(continuation) } else { state.waiters.append(continuation) }
                return nil
            }
            if let granted { continuation.resume(returning: granted) }
        }
    }

    /// The executor returned: its slot goes to the next ready attempt.
    func executed() {
        let (slots, consumer) = self.state.withLock { state in
            state.running -= 1
            state.settling += 1
            return state.wake()
        }
        for slot in slots { slot.resume(returning: true) }
        consumer?.resume()
    }

    /// An attempt that ran no executor call (stopped while ready) settles too.
    func skipped() {
        self.state.withLock { $0.settling += 1 }
    }

    /// The outcome is written (or left to the leader): the attempt is gone.
    func settled() {
        let (slots, consumer) = self.state.withLock { state in
            state.settling -= 1
            return state.wake()
        }
        for slot in slots { slot.resume(returning: true) }
        consumer?.resume()
    }

    /// The worker stops: the consumer wakes, and ready attempts get no slot.
    func interrupt() {
        let (waiters, consumer) = self.state.withLock { state in
            state.interrupted = true
            let waiters = state.highWaiters + state.waiters
            state.waiters = []
            state.highWaiters = []
            state.ready -= waiters.count
            defer { state.consumer = nil }
            return (waiters, state.consumer?.continuation)
        }
        for waiter in waiters { waiter.resume(returning: false) }
        consumer?.resume()
    }
}

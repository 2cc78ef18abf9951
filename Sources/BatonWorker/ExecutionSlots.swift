import Synchronization

/// What a worker holds, by stage: attempts `ready` (started in MySQL, waiting
/// for an execution slot), `running` (in an executor call: at most
/// `capacity`, what a business service feels), and `settling` (the executor
/// returned; the outcome waits for its group write and acknowledgement).
///
/// A ready attempt waits for its slot a short while at most (`expire(olderThan:)`):
/// one start write covers the slots that free while it is under way, and an
/// attempt whose slot does not come (the running ones turned out long) is
/// handed back instead of reading RUNNING while it waits.
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
        var waiters: [Waiter] = []
        var highWaiters: [Waiter] = []
        /// Since when every slot has been in an executor call (set when the
        /// last free slot is taken). Not the time a slot last freed: a worker
        /// whose slots sat partly idle for a while and then filled would read
        /// as saturated at once, publish a window of 0 and hand back its
        /// queue, and short work would crawl beside a few long calls.
        var busySince = ContinuousClock.now

        /// One more attempt in an executor call.
        mutating func occupy() {
            self.running += 1
            if self.running == self.capacity { self.busySince = .now }
        }
        /// High grants in a row while normal attempts waited.
        var highStreak = 0
        /// The consumer loop, with the room it waits for.
        var consumer: (continuation: CheckedContinuation<Void, Never>, target: Int, settleLimit: Int)?

        func hasRoom(target: Int, settleLimit: Int) -> Bool {
            self.interrupted || (self.ready + self.running < target && self.settling < settleLimit)
        }

        /// Hands free slots to waiting attempts; returns who to resume.
        mutating func wake() -> (slots: [Waiter], consumer: CheckedContinuation<Void, Never>?) {
            var slots: [Waiter] = []
            while self.running < self.capacity, !self.highWaiters.isEmpty || !self.waiters.isEmpty {
                if !self.highWaiters.isEmpty && (self.waiters.isEmpty || self.highStreak < self.capacity) {
                    slots.append(self.highWaiters.removeFirst())
                    self.highStreak = self.waiters.isEmpty ? 0 : self.highStreak + 1
                } else {
                    slots.append(self.waiters.removeFirst())
                    self.highStreak = 0
                }
                self.ready -= 1
                self.occupy()
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

    struct Waiter {
        var since: ContinuousClock.Instant
        var continuation: CheckedContinuation<Grant, Never>
    }

    /// How a wait for a slot ended.
    enum Grant: Sendable, Equatable {
        /// The attempt holds a slot: it runs now.
        case granted
        /// The worker stops: the attempt leaves without running.
        case stopped
        /// No slot freed within the wait's bound: the attempt leaves without running.
        case expired
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
    /// Every slot has been in an executor call for `period` (counted from
    /// when the last free one was taken): the worker cannot start what it
    /// holds soon.
    func saturated(for period: Duration) -> Bool {
        self.state.withLock { $0.running >= $0.capacity && ContinuousClock.now - $0.busySince >= period }
    }

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
    /// normal). Unless granted, the attempt leaves the ready stage without running.
    func acquire(high: Bool = false) async -> Grant {
        await withCheckedContinuation { continuation in
            let grant: Grant? = self.state.withLock { state in
                if state.interrupted {
                    state.ready -= 1
                    return .stopped
                }
                if state.running < state.capacity, state.highWaiters.isEmpty, high || state.waiters.isEmpty {
                    state.ready -= 1
                    state.occupy()
                    return .granted
                }
                let waiter = Waiter(since: .now, continuation: continuation)
                if high { state.highWaiters.append(waiter) } else { state.waiters.append(waiter) }
                return nil
            }
            if let grant { continuation.resume(returning: grant) }
        }
    }

    /// Ends the wait of every attempt that has waited `bound` or longer
    /// (they leave the ready stage without running). Returns how many.
    @discardableResult
    func expire(olderThan bound: Duration) -> Int {
        let now = ContinuousClock.now
        let expired: [Waiter] = self.state.withLock { state in
            let old = { (waiter: Waiter) in now - waiter.since >= bound }
            let gone = state.waiters.filter(old) + state.highWaiters.filter(old)
            guard !gone.isEmpty else { return [] }
            state.waiters.removeAll(where: old)
            state.highWaiters.removeAll(where: old)
            state.ready -= gone.count
            return gone
        }
        for waiter in expired { waiter.continuation.resume(returning: .expired) }
        return expired.count
    }

    /// The executor returned: its slot goes to the next ready attempt.
    func executed() {
        let (slots, consumer) = self.state.withLock { state in
            state.running -= 1
            state.settling += 1
            return state.wake()
        }
        for slot in slots { slot.continuation.resume(returning: .granted) }
        consumer?.resume()
    }

    /// An attempt that ran no executor call (stopped or expired while ready) settles too.
    func skipped() {
        self.state.withLock { $0.settling += 1 }
    }

    /// The outcome is written (or left to the leader): the attempt is gone.
    func settled() {
        let (slots, consumer) = self.state.withLock { state in
            state.settling -= 1
            return state.wake()
        }
        for slot in slots { slot.continuation.resume(returning: .granted) }
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
        for waiter in waiters { waiter.continuation.resume(returning: .stopped) }
        consumer?.resume()
    }
}

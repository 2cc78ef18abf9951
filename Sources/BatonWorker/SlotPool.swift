import Synchronization

/// The worker's capacity: a counting semaphore whose waiters can be cancelled.
final class SlotPool: Sendable {
    private struct State {
        var free: Int
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state: Mutex<State>
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        self.state = Mutex(State(free: capacity))
    }

    var free: Int { self.state.withLock { $0.free } }
    var used: Int { self.capacity - self.free }

    /// Waits until at least one slot is free (one waiter: the consumer loop).
    func waitForFree() async {
        await withCheckedContinuation { continuation in
            let ready = self.state.withLock { state in
                if state.free > 0 { return true }
                state.waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Lets a waiter go without a free slot (the worker is stopping).
    func interrupt() {
        let waiter = self.state.withLock { state in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func take(_ count: Int) {
        self.state.withLock { $0.free -= count }
    }

    func release() {
        let waiter = self.state.withLock { state in
            state.free += 1
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}

import Synchronization

/// Fired once to stop one running attempt; `wait()` returns when it fires
/// (or when the waiting task is cancelled).
final class CancelSignal: Sendable {
    enum Reason: Sendable {
        /// CancelTask: the row is already CANCELLED.
        case cancelled
        /// Graceful stop: hand the task back without spending the attempt.
        case shutdown
    }

    private struct State {
        var reason: Reason?
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    var reason: Reason? { self.state.withLock { $0.reason } }

    func fire(_ reason: Reason) {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard state.reason == nil else { return [] }
            state.reason = reason
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        let id = self.state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = self.state.withLock { state in
                    if state.reason != nil || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}

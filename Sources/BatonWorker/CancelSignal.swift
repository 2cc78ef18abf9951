import Synchronization

/// How one running attempt ends: the first of its executor's own end, a
/// cancel, a graceful stop or its deadline. `wait()` returns once one of them
/// happened (or when the waiting task is cancelled); later ones change nothing.
final class CancelSignal: Sendable {
    enum Reason: Sendable, Equatable {
        /// The executor returned or threw on its own.
        case finished
        /// CancelTask: the row is already CANCELLED.
        case cancelled
        /// Graceful stop: hand the task back without spending the attempt.
        case shutdown
        /// The attempt ran past its deadline.
        case timedOut
        /// The leader declared this worker dead: the task runs elsewhere.
        case fenced
    }

    private struct State {
        var reason: Reason?
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    var reason: Reason? { self.state.withLock { $0.reason } }

    func fire(_ reason: Reason) {
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.reason == nil else { return nil }
            state.reason = reason
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// One waiter at a time: the attempt's own task.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = self.state.withLock { state in
                    if state.reason != nil || Task.isCancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = self.state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}

import BatonStore
import Metrics
import Synchronization

/// Whether this node leads, under which epoch and lock value. The elector
/// writes it; leader-only loops read `current` before acting and follow
/// `changes()` to start and stop.
public final class LeaderState: Sendable {
    public struct Term: Sendable, Equatable {
        public var epoch: Int64
        /// `<node_id>|<token>`: what the lock holds while this node leads.
        public var lockValue: String
        /// The same term as MySQL fences it (nil: the leader's MySQL writes are not fenced).
        public var fence: LeaderFence?

        public init(epoch: Int64, lockValue: String, fence: LeaderFence? = nil) {
            self.epoch = epoch
            self.lockValue = lockValue
            self.fence = fence
        }
    }

    private struct State {
        var term: Term?
        var listeners: [Int: AsyncStream<Term?>.Continuation] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    public init() {
        // Every node exports both from its start, so "no node leads" is a
        // sum of zeros, not a missing series (deploy/prometheus alerts).
        Gauge(label: "baton_is_leader").record(0)
        Counter(label: "baton_leader_changes_total").increment(by: 0)
    }

    public var current: Term? { self.state.withLock { $0.term } }

    func set(_ term: Term?) {
        let listeners = self.state.withLock { state -> [AsyncStream<Term?>.Continuation] in
            guard state.term != term else { return [] }
            state.term = term
            return Array(state.listeners.values)
        }
        if !listeners.isEmpty || term != nil {
            Gauge(label: "baton_is_leader").record(term == nil ? 0 : 1)
            Counter(label: "baton_leader_changes_total").increment()
        }
        for listener in listeners { listener.yield(term) }
    }

    /// The current term, then each change.
    public func changes() -> AsyncStream<Term?> {
        let (stream, continuation) = AsyncStream.makeStream(of: Term?.self, bufferingPolicy: .bufferingNewest(1))
        let id = self.state.withLock { state in
            state.nextID += 1
            state.listeners[state.nextID] = continuation
            continuation.yield(state.term)
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.listeners.removeValue(forKey: id) }
        }
        return stream
    }
}

import BatonModel
import GRPCCore
import Synchronization

/// The watches open on this node: WatchTask streams, and creates waiting for
/// their task (`wait_seconds`). It bounds them (in all and per key:
/// RESOURCE_EXHAUSTED past either), and it makes watchers of one task share
/// their work: however many watch it, a change costs one read of the row and
/// a lease renewal one Redis call, so MariaDB's reads follow the changes,
/// not the number of watchers.
final class TaskWatchers: Sendable {
    private struct Watched {
        var watchers = 0
        /// The newest read of the row, in flight or done, and when it began.
        var read: (began: ContinuousClock.Instant, value: Task<TaskRecord?, any Error>)?
        var leaseRenewed: ContinuousClock.Instant?
    }

    private struct State {
        var open = 0
        var perKey: [String: Int] = [:]
        var tasks: [String: Watched] = [:]
    }

    let limits: WatchLimits
    private let state = Mutex(State())

    init(limits: WatchLimits) {
        self.limits = limits
    }

    /// Counts a new watcher of `taskID` for `key` (nil: a node without keys),
    /// or refuses it when a limit is reached. Pair with `release`.
    func admit(_ taskID: String, key: String?) throws(RPCError) {
        try self.admit(key: key)
        self.attach(taskID)
    }

    func release(_ taskID: String, key: String?) {
        self.detach(taskID)
        self.release(key: key)
    }

    /// Takes a place among the node's watches before the task is known (a
    /// create that will wait holds it before it creates anything), or
    /// refuses it when a limit is reached. Pair with `release(key:)`.
    func admit(key: String?) throws(RPCError) {
        let refusal: String? = self.state.withLock { state in
            if state.open >= self.limits.perNode {
                return "this node holds \(self.limits.perNode) watches (WatchTask streams, creates waiting on wait_seconds), its limit"
            }
            if let key {
                if state.perKey[key, default: 0] >= self.limits.perKey {
                    return "key \(key) holds \(self.limits.perKey) watches (WatchTask streams, creates waiting on wait_seconds) on this node, its limit"
                }
                state.perKey[key, default: 0] += 1
            }
            state.open += 1
            return nil
        }
        if let refusal { throw RPCError(code: .resourceExhausted, message: refusal) }
    }

    func release(key: String?) {
        self.state.withLock { state in
            state.open -= 1
            if let key {
                state.perKey[key, default: 1] -= 1
                if state.perKey[key] == 0 { state.perKey[key] = nil }
            }
        }
    }

    /// An admitted watcher now follows `taskID`: it shares the task's reads
    /// and lease renewals with the others. Pair with `detach`.
    func attach(_ taskID: String) {
        self.state.withLock { $0.tasks[taskID, default: Watched()].watchers += 1 }
    }

    func detach(_ taskID: String) {
        self.state.withLock { state in
            state.tasks[taskID]?.watchers -= 1
            if state.tasks[taskID]?.watchers ?? 0 <= 0 { state.tasks[taskID] = nil }
        }
    }

    /// Watches open now, and the tasks they follow (tests).
    var openCount: Int { self.state.withLock { $0.open } }
    var followedCount: Int { self.state.withLock { $0.tasks.count } }

    /// The row as read at `notBefore` or later: a read that began then is
    /// shared, else this call starts one (failed reads are not shared).
    func read(_ taskID: String, notBefore: ContinuousClock.Instant, fetch: @escaping @Sendable () async throws -> TaskRecord?) async throws -> TaskRecord? {
        let now = ContinuousClock.now
        let read: Task<TaskRecord?, any Error> = self.state.withLock { state in
            if let read = state.tasks[taskID]?.read, read.began >= notBefore { return read.value }
            let value = Task {
                do {
                    return try await fetch()
                } catch {
                    self.forget(taskID, began: now)
                    throw error
                }
            }
            state.tasks[taskID]?.read = (now, value)
            return value
        }
        return try await read.value
    }

    private func forget(_ taskID: String, began: ContinuousClock.Instant) {
        self.state.withLock { state in
            if state.tasks[taskID]?.read?.began == began { state.tasks[taskID]?.read = nil }
        }
    }

    /// The task's watch lease was renewed just now.
    func leaseRenewed(_ taskID: String) {
        let now = ContinuousClock.now
        self.state.withLock { $0.tasks[taskID]?.leaseRenewed = now }
    }

    /// Whether the caller should renew the task's watch lease now (no other
    /// watcher did within `interval`); if so, it counts as renewed.
    func leaseDue(_ taskID: String, interval: Duration) -> Bool {
        let now = ContinuousClock.now
        return self.state.withLock { state in
            if let renewed = state.tasks[taskID]?.leaseRenewed, now - renewed < interval { return false }
            state.tasks[taskID]?.leaseRenewed = now
            return true
        }
    }
}

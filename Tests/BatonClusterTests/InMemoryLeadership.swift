import BatonBroker
import Synchronization

/// The leader lock in memory, for the elector's logic without a Redis: one
/// holder, an epoch that grows with each acquisition, and a switch that makes
/// every call fail as an unreachable Redis would. TTLs are not kept: a test
/// takes the lock away (`seize`) where a real one would expire.
final class InMemoryLeadership: LeadershipBroker {
    private struct Lock {
        var holder: String?
        var epoch: Int64 = 0
        var unavailable = false
    }

    let cluster = "memory"
    let clock = ClusterClock()
    private let lock = Mutex(Lock())

    var holder: String? { self.lock.withLock { $0.holder } }

    /// Every call fails (`BrokerError.unavailable`) while set.
    func setUnavailable(_ unavailable: Bool) {
        self.lock.withLock { $0.unavailable = unavailable }
    }

    /// Another node holds the lock from now on (this one's expired meanwhile).
    func seize(by other: String) {
        self.lock.withLock {
            $0.holder = other
            $0.epoch += 1
        }
    }

    func acquireLeadership(lockValue: String, ttl: Duration) async throws(BrokerError) -> Int64? {
        try self.locked { lock in
            guard lock.holder == nil else { return nil }
            lock.holder = lockValue
            lock.epoch += 1
            return lock.epoch
        }
    }

    func renewLeadership(lockValue: String, ttl: Duration) async throws(BrokerError) -> Bool {
        try self.locked { $0.holder == lockValue }
    }

    func releaseLeadership(lockValue: String) async throws(BrokerError) {
        try self.locked { lock in
            if lock.holder == lockValue { lock.holder = nil }
        }
    }

    func raiseEpoch(lockValue: String, floor: Int64) async throws(BrokerError) -> Int64? {
        try self.locked { lock in
            guard lock.holder == lockValue else { return nil }
            lock.epoch = max(lock.epoch, floor)
            return lock.epoch
        }
    }

    private func locked<T: Sendable>(_ body: (inout Lock) -> T) throws(BrokerError) -> T {
        try self.lock.withLock { lock throws(BrokerError) -> T in
            if lock.unavailable { throw BrokerError(.unavailable, "in-memory Redis switched off") }
            return body(&lock)
        }
    }
}

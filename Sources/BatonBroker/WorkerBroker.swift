import BatonModel
import Foundation

/// What a worker asks of the broker: its registration and heartbeat, its
/// queues and in-flight list, and the ways its work goes back. A protocol so
/// the worker's pipeline can be tested against an in-memory broker;
/// `RedisBroker` is the one that runs.
public protocol WorkerBroker: Sendable {
    /// The cluster's name: the start write checks the worker is not fenced in it.
    var cluster: String { get }
    /// The cluster's clock, for every time the worker writes.
    var clock: ClusterClock { get }

    /// Makes `workerID` its node's current worker; returns the previous
    /// incarnation it declared dead, if any.
    @discardableResult
    func registerWorker(nodeID: String, workerID: String) async throws(BrokerError) -> String?
    /// Refreshes the registration; false once this worker was declared dead.
    func heartbeat(workerID: String, ttl: Duration, registration: WorkerRegistration) async throws(BrokerError) -> Bool
    /// Leaves the registry if the worker holds nothing; false when it still does.
    @discardableResult
    func deregisterWorker(nodeID: String, workerID: String) async throws(BrokerError) -> Bool
    /// How many entries the dispatcher may let the worker hold.
    func publishWindow(workerID: String, window: Int) async throws(BrokerError)
    /// The dispatcher gives a draining worker nothing more.
    func markDraining(workerID: String) async throws(BrokerError)

    /// Moves up to `count` entries from the worker's queues to its in-flight
    /// list, high priority first; only high-priority ones when `highOnly`.
    func take(workerID: String, count: Int, highOnly: Bool) async throws(BrokerError) -> [QueueEntry]
    /// Runs `body` with an inbox of `workerID` (its blocking waits), closed
    /// when `body` returns or throws.
    func withInbox<T>(workerID: String, _ body: (any WorkerInbox) async throws -> T) async throws -> T
    /// Finished attempts off the in-flight list once their outcome is in
    /// MySQL; a retry (`due` > 0, ms) onto the delayed set.
    func acknowledge(workerID: String, _ entries: [(entry: QueueEntry, due: Int64)]) async throws(BrokerError)
    /// Entries the worker took and will not run, back to the front of their queues.
    func handBackInFlight(workerID: String, _ entries: [QueueEntry]) async throws(BrokerError)
    /// Entries the worker was given and never took, back to the front of
    /// their queues; how many.
    @discardableResult
    func handBackQueued(workerID: String) async throws(BrokerError) -> Int

    /// Puts tasks where they wait (the dependents an outcome released).
    func enqueue(_ tasks: [TaskRecord], now: Date?) async throws(BrokerError)
    /// Tells the tasks' watchers they changed.
    func announce(_ taskIDs: [String]) async throws(BrokerError)
}

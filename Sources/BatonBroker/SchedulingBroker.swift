/// What the leader's dispatcher and delayed promoter ask of the broker. A
/// protocol so their loops can be tested against an in-memory broker;
/// `RedisBroker` is the one that runs.
public protocol SchedulingBroker: Sendable {
    var clock: ClusterClock { get }

    /// One fenced dispatch round: up to `batch` entries from the priority
    /// queues to live workers' queues; each moved entry with its worker.
    func dispatch(
        fence lockValue: String, batch: Int, heartbeatTTL: Duration, strategy: String, weights: (high: Int, normal: Int),
        lookAhead: Int, highReserve: Int
    ) async throws(BrokerError) -> [(entry: QueueEntry, workerID: String)]

    /// Moves due entries of the delayed set to their queues: how many moved,
    /// the earliest due time left and Redis's time (both ms).
    func promoteDue(limit: Int, fence: String) async throws(BrokerError) -> (moved: Int, nextDue: Int64?, now: Int64)

    /// Runs `body` with the wake-ups of `work`.
    func withWakeSource<T>(for work: WakeSource.Work, _ body: (WakeSource) async throws -> T) async throws -> T

    /// Every type's limits, each only over an older version.
    func replaceLimits(_ limits: [TypeLimits]) async throws(BrokerError)
    /// Types with entries parked.
    func parkedTypes() async throws(BrokerError) -> [String]
    /// The configured types no live worker runs.
    func unservedTypes(heartbeatTTL: Duration?) async throws(BrokerError) -> [ClusterSnapshot.UnservedType]
    /// Gives a type's parked entries back to their queues, `pageSize` at a
    /// time; how many.
    @discardableResult
    func unpark(_ taskType: String, pageSize: Int) async throws(BrokerError) -> Int
}

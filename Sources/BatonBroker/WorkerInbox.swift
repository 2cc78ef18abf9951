/// What one worker loop waits on: its takes and blocking reads, apart from
/// the broker's pooled calls. `WorkerBroker.withInbox` hands one out; a
/// protocol so an in-memory broker can hand entries and cancels to the
/// worker's loops (`RedisWorkerInbox` is the one that runs).
public protocol WorkerInbox: Sendable {
    /// Moves up to `count` entries from the worker's queues to its in-flight
    /// list, high priority first; only high-priority ones when `highOnly`.
    func take(count: Int, highOnly: Bool) async throws(BrokerError) -> [QueueEntry]
    /// Blocks until the dispatcher rings this worker's bell (its high lane's
    /// bell when `high`), or `timeout` passes.
    func waitForWork(high: Bool, timeout: Duration) async throws(BrokerError)
    /// Attempts cancelled while this worker may run them: blocks up to
    /// `timeout` for the first, then takes what else waits.
    func cancels(timeout: Duration) async throws(BrokerError) -> [CancelNotice]
}

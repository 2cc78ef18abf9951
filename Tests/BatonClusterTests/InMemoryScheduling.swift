import BatonBroker
import Synchronization

/// A delayed set in memory on a simulated clock, for the delayed promoter's
/// loop without a Redis: a wait advances the clock by its whole timeout (no
/// one wakes it early), and the `stopAfter`-th wait ends the loop with an
/// unavailable broker. The dispatcher's calls find nothing to do.
final class InMemoryScheduling: SchedulingBroker {
    private struct State {
        var due: [Int64] = []
        var now: Int64 = 1_000_000
        var holder: String
        var passes: [Int] = []
        var waits: [Duration] = []
    }

    let clock = ClusterClock()
    private let state: Mutex<State>
    private let stopAfter: Int

    init(holder: String, stopAfter: Int) {
        self.state = Mutex(State(holder: holder))
        self.stopAfter = stopAfter
    }

    /// The simulated time, in ms.
    var now: Int64 { self.state.withLock { $0.now } }
    /// How many entries each promotion pass moved.
    var passes: [Int] { self.state.withLock { $0.passes } }
    /// Each wait's timeout.
    var waits: [Duration] { self.state.withLock { $0.waits } }
    var left: Int { self.state.withLock { $0.due.count } }

    /// Adds entries due `ms` after the simulated now.
    func add(_ count: Int, dueIn ms: Int64) {
        self.state.withLock { state in
            state.due += Array(repeating: state.now + ms, count: count)
            state.due.sort()
        }
    }

    func promoteDue(limit: Int, fence: String) async throws(BrokerError) -> (moved: Int, nextDue: Int64?, now: Int64) {
        try self.state.withLock { state throws(BrokerError) in
            guard fence == state.holder else { throw BrokerError(.failed, "FENCED: not the leader") }
            let ready = min(limit, state.due.prefix { $0 <= state.now }.count)
            state.due.removeFirst(ready)
            state.passes.append(ready)
            return (ready, state.due.first, state.now)
        }
    }

    func withWakeSource<T>(for work: WakeSource.Work, _ body: (WakeSource) async throws -> T) async throws -> T {
        try await body(WakeSource { [self] timeout throws(BrokerError) in
            let waits = self.state.withLock { state in
                state.waits.append(timeout)
                state.now += timeout.wholeMilliseconds
                return state.waits.count
            }
            if waits >= self.stopAfter { throw BrokerError(.unavailable, "in-memory broker stopped") }
        })
    }

    func dispatch(
        fence lockValue: String, batch: Int, heartbeatTTL: Duration, strategy: String, weights: (high: Int, normal: Int),
        lookAhead: Int, highReserve: Int
    ) async throws(BrokerError) -> [(entry: QueueEntry, workerID: String)] { [] }

    func replaceLimits(_ limits: [TypeLimits]) async throws(BrokerError) {}
    func parkedTypes() async throws(BrokerError) -> [String] { [] }
    func unservedTypes(heartbeatTTL: Duration?) async throws(BrokerError) -> [ClusterSnapshot.UnservedType] { [] }
    func unpark(_ taskType: String, pageSize: Int) async throws(BrokerError) -> Int { 0 }
}

import BatonModel

/// Every Redis key and stream Baton uses, under one namespace (default
/// `baton`), so that tests and several clusters can share a server.
///
/// Every key starts with `prefix`, the namespace in braces (`{baton}:queue:high`):
/// a Redis Cluster hashes only the part in braces (the hash tag), so all the
/// keys of a namespace live in one slot, on one master. That is what lets
/// one Lua script touch many keys (every live worker's queue, types' parked
/// lists: all given in KEYS, `KeyRoster`), lets BLMOVE and BRPOP span keys,
/// and lets a node follow a failover with one target address. A cluster gives Baton high
/// availability, not sharding; several namespaces may share a cluster, each
/// in its own slot. The same shape on plain Redis and Sentinel: one decision
/// (docs/redis.md), which `testkit/batontest/keys.py` follows.
public struct RedisKeys: Sendable {
    public let namespace: String
    /// `{<namespace>}`: the start of every key, and its hash tag.
    public let prefix: String

    public init(namespace: String = "baton") {
        self.namespace = namespace
        self.prefix = "{\(namespace)}"
    }

    /// A pattern (KEYS/SCAN) matching every key of the namespace.
    public var everyKeyPattern: String { "\(self.prefix):*" }

    /// Why `namespace` cannot name a cluster's keys, or nil when it can: an
    /// empty one, or one starting with `}`, makes an empty hash tag (`{}`),
    /// and a Redis Cluster then hashes each whole key to a slot of its own.
    public static func problem(namespace: String) -> String? {
        if namespace.isEmpty || namespace.hasPrefix("}") {
            return "the Redis namespace must not be empty nor start with '}' (its keys are tagged {<namespace>}: one Redis Cluster slot)"
        }
        return nil
    }

    public var highQueue: String { "\(self.prefix):queue:high" }
    /// Per node: its worker's created → started latency over its last stats
    /// interval, `<ms since epoch>|<count>|<p50>|<p99>` (the dashboard's chart).
    public var startLatency: String { "\(self.prefix):stats:start-latency" }
    public var normalQueue: String { "\(self.prefix):queue:normal" }
    /// Tasks waiting for `run_at` or a retry backoff, scored by due time (ms).
    public var delayed: String { "\(self.prefix):delayed" }
    /// Cluster events: task changes, cancel signals, config changes.
    public var events: String { "\(self.prefix):events" }
    public var leader: String { "\(self.prefix):leader" }
    public var leaderEpoch: String { "\(self.prefix):leader:epoch" }
    /// Live workers, scored by their last heartbeat (ms).
    public var workers: String { "\(self.prefix):workers" }
    /// Pushed to when work may be waiting (a new task, a freed slot): the
    /// dispatcher blocks on it instead of polling.
    public var wake: String { "\(self.prefix):wake" }
    /// Pushed to when the delayed set gains an entry: wakes the promoter early.
    public var delayedWake: String { "\(self.prefix):delayed:wake" }
    /// Per task type: tasks on worker queues or running (max_concurrency).
    public var inUse: String { "\(self.prefix):inuse" }
    /// Per task type: `max_concurrency|rate_limit_per_second|paused`, kept by the leader.
    public var limits: String { "\(self.prefix):limits" }
    /// Types with entries parked (paused while their tasks waited).
    public var parkedTypes: String { "\(self.prefix):parked" }
    /// A paused type's waiting entries, in queue order, set aside by the
    /// dispatcher so that they hold back no other type.
    public func parked(_ taskType: String) -> String { "\(self.prefix):parked:\(taskType)" }
    /// Tasks someone watches, scored by when the watch lapses (ms): their
    /// transitions are announced on `events`. A watcher renews its lease; a
    /// crashed node's lapse and are pruned by the leader.
    public var watchers: String { "\(self.prefix):watchers" }
    /// Entries of cancelled tasks still on a priority queue, scored by when
    /// (ms): the dispatcher drops them as it reaches them.
    public var tombstones: String { "\(self.prefix):queue:cancelled" }
    /// Tasks a worker took and runs, by task id: `<generation>|<worker>|<ms>`
    /// (the take writes it, the ack, a hand-back or a reclaim drops it). While
    /// an attempt is younger than the deferred-start window its row still
    /// reads waiting: this is what says it runs (docs/deferred-start.md).
    public var claims: String { "\(self.prefix):claims" }
    /// Present while Redis holds Baton's state; gone after a data loss (FLUSHALL, restart without persistence).
    public var sentinel: String { "\(self.prefix):sentinel" }
    /// Workers declared dead (by the leader, or by their node's next
    /// incarnation), scored by when: their heartbeats are refused.
    public var retiredWorkers: String { "\(self.prefix):workers:retired" }
    /// Workers declared dead whose tasks are not yet back on the queues.
    public var reclaimWorkers: String { "\(self.prefix):workers:reclaim" }
    /// While a restore after a data loss runs: the entries Redis holds.
    public var restoreHeld: String { "\(self.prefix):restore:held" }
    /// Tasks dispatched by the current leader.
    public var scheduledTotal: String { "\(self.prefix):stats:scheduled" }
    /// Per rate-limited task type: `<unix second>:<count>`, its starts in
    /// that second by Redis's clock (the dispatch script counts; one hash,
    /// not a key per type and second, so the script gets it in KEYS).
    public var rates: String { "\(self.prefix):rates" }
    /// Where the round-robin dispatch strategy's cursor is kept between rounds.
    public var dispatchCursor: String { "\(self.prefix):dispatch:rr" }

    public func queue(_ priority: TaskPriority) -> String {
        priority == .high ? self.highQueue : self.normalQueue
    }

    public func worker(_ workerID: String) -> String { "\(self.prefix):worker:\(workerID)" }
    /// A worker's queue of normal-priority work; high-priority work waits on
    /// its own queue beside it, taken first.
    public func workerQueue(_ workerID: String) -> String { "\(self.prefix):worker:\(workerID):queue" }
    public func workerHighQueue(_ workerID: String) -> String { "\(self.prefix):worker:\(workerID):queue:high" }
    /// Ids of tasks cancelled while this worker may run them.
    public func workerCancels(_ workerID: String) -> String { "\(self.prefix):worker:\(workerID):cancels" }
    /// Rung when the dispatcher gives a worker work: an idle worker blocks on it.
    public func workerBell(_ workerID: String) -> String { "\(self.prefix):worker:\(workerID):bell" }
    /// Rung too when the work is high priority: the worker's high lane blocks on it.
    public func workerHighBell(_ workerID: String) -> String { "\(self.prefix):worker:\(workerID):bell:high" }
    public func workerInFlight(_ workerID: String) -> String { "\(self.prefix):worker:\(workerID):inflight" }
    /// The current worker incarnation of a node.
    public func nodeWorker(_ nodeID: String) -> String { "\(self.prefix):node:\(nodeID):worker" }
    /// The incarnation of the live node that holds an id (any roles), with a TTL it refreshes.
    public func nodePresence(_ nodeID: String) -> String { "\(self.prefix):node:\(nodeID):presence" }

    /// Keys of this namespace as releases before the hash tag spelt them
    /// (`baton:sentinel`, no braces), those that every such release keeps
    /// while Redis holds its state: a node refuses to start beside them
    /// (`RedisBroker.untaggedState`, docs/redis.md, "Upgrading").
    public var untaggedState: [String] {
        ["sentinel", "leader", "workers", "queue:high", "queue:normal", "delayed"].map { "\(self.namespace):\($0)" }
    }

    /// The SCAN pattern of every key of a release before the hash tag, for
    /// the operator to delete once none of its nodes runs (`{…}` keys never match).
    public var untaggedPattern: String { "\(self.namespace):*" }
}

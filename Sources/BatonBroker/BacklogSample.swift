/// What waits to be dispatched, per task type, read in two round trips and
/// bounded whatever the backlog (`RedisBroker.backlogSample`): the metrics'
/// per-type backlog and the entries whose wait is the longest.
public struct BacklogSample: Sendable, Equatable {
    public struct TypeBacklog: Sendable, Equatable {
        /// Entries on the priority queues: counted in the sampled head of
        /// each queue, scaled by the queue's length over the sample's when
        /// the queue is longer (an estimate then), plus the parked ones.
        public var waiting: Int64 = 0
        /// Entries the dispatcher set aside (paused or unserved type): exact.
        public var parked: Int64 = 0
        /// The type's first entry on each queue and on its parked list: the
        /// candidates for its longest wait (ids; their rows tell since when).
        public var heads: [String] = []

        public init() {}
    }

    /// Every configured type (the limits hash) and every type seen waiting.
    public var types: [String: TypeBacklog]
    /// Types whose limits say paused.
    public var paused: Set<String>
    /// True when a queue was longer than the sample: counts are estimates.
    public var estimated: Bool

    public init(types: [String: TypeBacklog] = [:], paused: Set<String> = [], estimated: Bool = false) {
        self.types = types
        self.paused = paused
        self.estimated = estimated
    }
}

/// How this node's worker registers and consumes.
public struct WorkerConfiguration: Sendable {
    public var workerID: String
    public var nodeID: String
    /// Executor calls at once: what a business service feels.
    public var capacity = 10
    /// The most entries the worker holds (queued, ready, running, settling);
    /// nil: 32 × capacity. The window adapts below it (`Prefetch`).
    public var maxWindow: Int?
    /// Types this worker runs; empty means every configured type it can run
    /// (it advertises its executors: a local type needs its handler registered).
    public var taskTypes: [String] = []
    public var heartbeatInterval: Duration = .seconds(3)
    public var heartbeatTTL: Duration = .seconds(9)
    /// How long a graceful stop waits for running tasks before handing them back.
    public var gracePeriod: Duration = .seconds(30)
    /// Longest an attempt started in a start write waits for its execution
    /// slot before it goes back to its queue unstarted (see `Prefetch.burst`):
    /// RUNNING never means "waiting" for longer than this.
    public var readyLimit: Duration = .milliseconds(250)
    /// How long an attempt runs before its start is written to MySQL; one
    /// that ends sooner has only its outcome written (`StartRecorder`,
    /// docs/deferred-start.md). Zero writes every start before the attempt
    /// runs, as a replicated Redis needs: a failover may lose the claim that
    /// keeps a copy of the entry from running meanwhile.
    public var startWriteAfter: Duration = .milliseconds(250)
    /// How long an attempt's "started" log line is held: an attempt that
    /// succeeds sooner writes no log line at all (`TaskLogWriter`).
    public var quietLogWindow: Duration = .seconds(1)
    /// Longest wait of one blocking take (bounds how fast a stop is noticed).
    public var pollTimeout: Duration = .seconds(1)
    /// Caps on what one attempt stores.
    public var maxResultBytes = 1 << 20
    public var maxErrorBytes = 64 << 10

    /// `workerID` defaults to `<node>-worker-<incarnation>`, new for every
    /// process: a node restarted at once after a crash is a new worker, and
    /// what its previous life held is recovered like a dead worker's.
    public init(nodeID: String, workerID: String? = nil) {
        self.nodeID = nodeID
        self.workerID = workerID ?? "\(nodeID)-worker-\(Self.incarnation())"
    }

    /// Six random base-36 characters.
    static func incarnation() -> String {
        let digits = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        return String((0..<6).map { _ in digits[Int.random(in: 0..<digits.count)] })
    }
}

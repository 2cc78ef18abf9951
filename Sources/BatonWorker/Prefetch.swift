/// How much work a worker asks for, sized from what its own pipeline takes,
/// so that its executors never wait for the cluster (as Celery's prefetch
/// multiplier or dramatiq's prefetch do, but adaptive rather than fixed).
///
/// Each attempt spends time in the worker besides its executor call: its
/// start write (`start`), its outcome write and acknowledgement (`settle`),
/// and the trip back through the leader until the next entry arrives (taken
/// to be one more start write: the same MySQL and Redis hops). By Little's
/// law the executors stay busy when the worker holds `capacity × (execution
/// + overhead) / execution` entries: a tenth more than `capacity` for
/// one-second tasks, hundreds for tasks that take microseconds. That is the
/// `window` the dispatcher fills. `burst` is how many attempts one start
/// write takes beyond the free slots: as many as the slots finish while the
/// write is under way (none for slow tasks, so nothing sits RUNNING waiting
/// for a slot behind a long call).
///
/// Times are exponentially weighted means (seconds); the first estimates
/// assume 10 ms tasks and 2 ms writes, about twice `capacity`.
public struct Prefetch: Sendable, Equatable {
    public let capacity: Int
    /// The most entries the worker holds, whatever the estimates (memory,
    /// and fairness to other workers when tasks turn slow).
    public let maxWindow: Int
    public private(set) var execution = 0.010
    public private(set) var start = 0.002
    public private(set) var settle = 0.002
    /// Every slot is held by a call longer than the estimates know (no slot
    /// freed for a while): the worker asks for nothing more and starts no
    /// more than its free slots until one frees.
    public private(set) var saturated = false

    /// Weight of each new sample.
    static let smoothing = 0.1

    public init(capacity: Int, maxWindow: Int? = nil) {
        self.capacity = max(1, capacity)
        self.maxWindow = max(self.capacity + 1, maxWindow ?? self.capacity * 32)
    }

    public mutating func executed(seconds: Double) {
        Self.blend(&self.execution, seconds)
        self.saturated = false
    }

    /// No slot freed for a while although attempts waited (see `saturated`).
    public mutating func saturate() { self.saturated = true }
    public mutating func startWritten(seconds: Double) { Self.blend(&self.start, seconds) }
    public mutating func settled(seconds: Double) { Self.blend(&self.settle, seconds) }

    /// Attempts a start write takes beyond the free slots (at most a quarter of the window).
    public var burst: Int {
        if self.saturated { return 0 }
        let finishedDuringStart = Double(self.capacity) * self.start / max(self.execution, 1e-6)
        return Int(min(finishedDuringStart.rounded(.down), Double(self.maxWindow / 4)))
    }

    /// Entries the dispatcher may let this worker hold (queued, ready,
    /// running and settling together); 0 while saturated: it holds more
    /// than it can start soon, so new work goes to workers with free slots.
    public var window: Int {
        if self.saturated { return 0 }
        let overhead = self.start * 2 + self.settle
        let needed = (Double(self.capacity) * (self.execution + overhead) / max(self.execution, 1e-6)).rounded(.up)
        let wanted = max(needed, Double(self.capacity + self.burst))
        return Int(min(max(wanted, Double(self.capacity + 1)), Double(self.maxWindow)))
    }

    private static func blend(_ mean: inout Double, _ sample: Double) {
        guard sample.isFinite, sample >= 0 else { return }
        mean += (sample - mean) * Self.smoothing
    }
}

import Synchronization

/// Latencies recorded over an interval, drained as percentiles at its end.
/// Memory stays bounded: past `capacity` samples a uniform sample of them is
/// kept (reservoir sampling), which leaves the percentiles unbiased.
public final class LatencyWindow: Sendable {
    public struct Summary: Sendable, Equatable {
        public var count: Int
        public var p50: Double
        public var p99: Double

        public init(count: Int, p50: Double, p99: Double) {
            self.count = count
            self.p50 = p50
            self.p99 = p99
        }

        /// Several windows' summaries as one, without their samples: the
        /// median weighted by count (an estimate), the highest p99 (a bound).
        public static func combined(_ parts: [Summary]) -> Summary? {
            let parts = parts.filter { $0.count > 0 }
            guard !parts.isEmpty else { return nil }
            let count = parts.reduce(0) { $0 + $1.count }
            let p50 = parts.reduce(0.0) { $0 + $1.p50 * Double($1.count) } / Double(count)
            return Summary(count: count, p50: p50, p99: parts.map(\.p99).max() ?? 0)
        }
    }

    private struct State {
        var samples: [Double] = []
        var seen = 0
        var generator = SystemRandomNumberGenerator()
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = 4_096) {
        self.capacity = capacity
    }

    public func record(_ value: Double) {
        self.state.withLock { state in
            state.seen += 1
            if state.samples.count < self.capacity {
                state.samples.append(value)
            } else {
                let slot = Int.random(in: 0..<state.seen, using: &state.generator)
                if slot < self.capacity { state.samples[slot] = value }
            }
        }
    }

    /// The interval's percentiles (nil when nothing was recorded); starts the next interval.
    public func drain() -> Summary? {
        let (samples, seen) = self.state.withLock { state in
            defer {
                state.samples.removeAll(keepingCapacity: true)
                state.seen = 0
            }
            return (state.samples, state.seen)
        }
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        return Summary(count: seen, p50: Self.percentile(sorted, 0.50), p99: Self.percentile(sorted, 0.99))
    }

    /// Nearest-rank percentile of sorted values.
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[max(0, min(sorted.count - 1, rank - 1))]
    }
}

/// Collected latencies and their percentiles.
struct Latencies {
    private(set) var samples: [Duration] = []

    mutating func record(_ duration: Duration) { self.samples.append(duration) }
    mutating func merge(_ other: Latencies) { self.samples += other.samples }

    func percentile(_ p: Double) -> Duration {
        guard !self.samples.isEmpty else { return .zero }
        let sorted = self.samples.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count) * p / 100).rounded(.up)) - 1)
        return sorted[max(0, index)]
    }

    var summary: String {
        "p50 \(Self.ms(self.percentile(50))) ms  p95 \(Self.ms(self.percentile(95))) ms  p99 \(Self.ms(self.percentile(99))) ms"
    }

    static func ms(_ duration: Duration) -> String {
        let millis = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return String(format: "%.2f", millis)
    }
}

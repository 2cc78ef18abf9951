import Metrics

/// One gauge per value of a label (a task type), made once each: a value
/// missing from the latest sample is recorded 0 rather than left at what it
/// last was, so a scrape never shows a backlog that has gone.
struct LabeledGauges {
    let label: String
    let dimension: String
    private var gauges: [String: Gauge] = [:]

    init(label: String, dimension: String) {
        self.label = label
        self.dimension = dimension
    }

    mutating func record(_ values: [String: Double]) {
        for (value, gauge) in self.gauges where values[value] == nil { gauge.record(0) }
        for (value, number) in values {
            if self.gauges[value] == nil { self.gauges[value] = Gauge(label: self.label, dimensions: [(self.dimension, value)]) }
            self.gauges[value]?.record(number)
        }
    }
}

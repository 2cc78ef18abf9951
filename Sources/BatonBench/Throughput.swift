/// Measures how many operations per second a piece of work achieves.
struct Throughput {
    let label: String
    let operations: Int
    let elapsed: Duration

    var perSecond: Double {
        let seconds = Double(self.elapsed.components.seconds) + Double(self.elapsed.components.attoseconds) / 1e18
        return Double(self.operations) / seconds
    }

    static func measure(_ label: String, operations: Int, _ body: () async throws -> Void) async rethrows -> Throughput {
        let started = ContinuousClock.now
        try await body()
        return Throughput(label: label, operations: operations, elapsed: ContinuousClock.now - started)
    }

    /// Runs `body(worker)` on `concurrency` tasks at once.
    static func measureConcurrently(
        _ label: String,
        operations: Int,
        concurrency: Int,
        _ body: @escaping @Sendable (Int) async throws -> Void
    ) async throws -> Throughput {
        try await self.measure(label, operations: operations) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<concurrency { group.addTask { try await body(worker) } }
                try await group.waitForAll()
            }
        }
    }

    var line: String {
        let padded = self.label.padding(toLength: 48, withPad: " ", startingAt: 0)
        return "\(padded) \(String(format: "%12.0f", self.perSecond)) /s"
    }
}

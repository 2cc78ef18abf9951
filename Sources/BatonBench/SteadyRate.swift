/// Opens calls at a fixed rate whatever the answers' speed (no coordinated
/// omission): each call's latency counts from when it was due, not from when
/// it could start.
enum SteadyRate {
    static func measure(rate: Int, seconds: Int, _ call: @escaping @Sendable () async throws -> Void) async throws -> Latencies {
        try await self.measureWithLateness(rate: rate, seconds: seconds, call).latencies
    }

    /// The same, and how late the load generator itself opened each call
    /// (its own scheduling, which the latencies include).
    static func measureWithLateness(
        rate: Int, seconds: Int, _ call: @escaping @Sendable () async throws -> Void
    ) async throws -> (latencies: Latencies, lateness: Latencies) {
        let calls = rate * seconds
        return try await self.measure(rate: rate, while: { $0 < calls }, call)
    }

    /// Opens the call numbered n (from 0) while `continuing(n)` holds.
    static func measure(
        rate: Int, while continuing: @Sendable (Int) -> Bool, _ call: @escaping @Sendable () async throws -> Void
    ) async throws -> (latencies: Latencies, lateness: Latencies) {
        let interval = Duration.nanoseconds(1_000_000_000 / rate)
        let collected = Collected<Latencies>(Latencies())
        let late = Collected<Latencies>(Latencies())
        try await withThrowingDiscardingTaskGroup { group in
            let start = ContinuousClock.now
            var index = 0
            while continuing(index) {
                defer { index += 1 }
                let due = start + interval * index
                try await Task.sleep(until: due, clock: .continuous)
                group.addTask {
                    var opened = Latencies()
                    opened.record(ContinuousClock.now - due)
                    late.update { $0.merge(opened) }
                    try await call()
                    var one = Latencies()
                    one.record(ContinuousClock.now - due)
                    collected.update { $0.merge(one) }
                }
            }
        }
        return (collected.value, late.value)
    }
}

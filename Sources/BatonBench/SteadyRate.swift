/// Opens calls at a fixed rate whatever the answers' speed (no coordinated
/// omission): each call's latency counts from when it was due, not from when
/// it could start.
enum SteadyRate {
    static func measure(rate: Int, seconds: Int, _ call: @escaping @Sendable () async throws -> Void) async throws -> Latencies {
        let interval = Duration.nanoseconds(1_000_000_000 / rate)
        let collected = Collected<Latencies>(Latencies())
        try await withThrowingDiscardingTaskGroup { group in
            let start = ContinuousClock.now
            for index in 0..<rate * seconds {
                let due = start + interval * index
                try await Task.sleep(until: due, clock: .continuous)
                group.addTask {
                    try await call()
                    var one = Latencies()
                    one.record(ContinuousClock.now - due)
                    collected.update { $0.merge(one) }
                }
            }
        }
        return collected.value
    }
}

import BatonRedis

/// Runs `script` on `key` every 100 ms until a call succeeds or 20 s pass:
/// how the failover tests see when calls resume after a master dies, and
/// how every call failed meanwhile.
struct FailoverProbe {
    var value: Int64?
    var failures: [RedisError] = []
    var resumedAfter: Duration = .zero

    init(_ client: RedisClient, _ script: RedisScript, key: String, since started: ContinuousClock.Instant) async throws {
        while self.value == nil, ContinuousClock.now - started < .seconds(20) {
            do {
                self.value = try await client.run(script, keys: [key]).int
            } catch {
                self.failures.append(error)
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        self.resumedAfter = ContinuousClock.now - started
    }
}

import BatonRedis
import BatonTestSupport
import Logging
import XCTest

/// A saturated pool answers at once (`.busy`, which the API maps to
/// UNAVAILABLE) instead of queueing callers without end; a pool without a
/// timeout still waits.
final class RedisPoolTimeoutTests: XCTestCase {
    func testRedisCallsPastTheAcquireTimeoutFailBusy() async throws {
        var configuration = try RedisConfiguration(url: TestEnvironment.redisURL)
        configuration.maxConnections = 1
        configuration.acquireTimeout = .milliseconds(200)
        let redis = RedisClient(configuration: configuration, logger: Logger(label: "test"))
        let key = TestEnvironment.uniqueName("busy")
        // The only connection is held by a 1.5 s blocking pop.
        async let holder = redis.send("BLPOP", key, "1.5")
        try await Task.sleep(for: .milliseconds(100))
        let began = ContinuousClock.now
        do {
            try await redis.send("PING")
            XCTFail("a call past the acquire timeout succeeded")
        } catch {
            XCTAssertEqual(error.kind, .busy)
            XCTAssertTrue(error.isUnavailable)
        }
        let waited = ContinuousClock.now - began
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(190))
        XCTAssertLessThan(waited, .milliseconds(1000))
        _ = try await holder
        // Free again: calls go through.
        let pong = try await redis.send("PING")
        XCTAssertEqual(pong.string, "PONG")
        try await redis.shutdown()
    }
}

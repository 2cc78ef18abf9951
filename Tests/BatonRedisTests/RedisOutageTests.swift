import BatonRedis
import BatonTestSupport
import Foundation
import Logging
import XCTest

/// Stops and restarts a private redis-server: calls fail with a typed error
/// while it is down and work again once it is back.
final class RedisOutageTests: XCTestCase {
    private let port = 16390
    private var environment: [String: String] {
        [
            "BATON_REDIS_PORT": String(self.port),
            "BATON_RUN_DIR": TestEnvironment.repositoryRoot.appendingPathComponent(".run/redis-outage-test").path,
        ]
    }

    override func tearDown() async throws {
        try TestEnvironment.devServices(["stop", "redis"], environment: self.environment)
    }

    func testCallsFailTypedWhileDownAndRecover() async throws {
        try TestEnvironment.devServices(["start", "redis"], environment: self.environment)
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:\(self.port)")
        configuration.connectTimeout = .milliseconds(500)
        configuration.maxConnections = 4
        let client = RedisClient(configuration: configuration, logger: Logger(label: "test"))

        try await client.send("SET", "k", "v")
        let value = try await client.send("GET", "k")
        XCTAssertEqual(value.string, "v")

        try TestEnvironment.devServices(["stop", "redis"], environment: self.environment)
        for _ in 0..<3 {
            do {
                try await client.send("GET", "k")
                XCTFail("expected an error while Redis is down")
            } catch {
                XCTAssertTrue(error.isUnavailable, "unexpected \(error)")
            }
        }
        do {
            _ = try await client.pipeline([RedisCommand("PING")])
            XCTFail("expected an error while Redis is down")
        } catch {
            XCTAssertTrue(error.isUnavailable)
        }

        try TestEnvironment.devServices(["start", "redis"], environment: self.environment)
        let recovered = try await TestEnvironment.waitUntil(timeout: .seconds(5)) {
            (try? await client.send("PING")) == .status("PONG")
        }
        XCTAssertTrue(recovered)
        try await client.send("SET", "k", "again")
        let again = try await client.send("GET", "k")
        XCTAssertEqual(again.string, "again")
        try await client.shutdown()
    }
}

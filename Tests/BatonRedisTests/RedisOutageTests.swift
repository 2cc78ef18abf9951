import BatonRedis
import BatonTestSupport
import Foundation
import Logging
import XCTest

/// Stops and restarts a private redis-server: calls fail with a typed error
/// while it is down and work again once it is back.
final class RedisOutageTests: XCTestCase {
    private let server = PrivateServer(.redis, port: 16390, name: "redis-outage-test")
    private var port: Int { self.server.port }

    override func tearDown() async throws {
        try self.server.stop()
    }

    func testCallsFailTypedWhileDownAndRecover() async throws {
        try self.server.start()
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:\(self.port)")
        configuration.connectTimeout = .milliseconds(500)
        configuration.maxConnections = 4
        let client = RedisClient(configuration: configuration, logger: Logger(label: "test"))

        try await client.send("SET", "k", "v")
        let value = try await client.send("GET", "k")
        XCTAssertEqual(value.string, "v")

        try self.server.stop()
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

        try self.server.start()
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

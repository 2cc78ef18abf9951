import BatonRedis
import BatonTestSupport
import Foundation
import Logging
import XCTest

/// A client on `sentinel://` against a real master, replica and three
/// Sentinels: it finds the master, and follows a failover after the master
/// is killed, with scripts loaded again on the new master.
final class SentinelFailoverTests: XCTestCase {
    private let servers = SentinelServers()

    override func setUp() async throws {
        do { try self.servers.start() } catch let missing as SentinelServers.NotInstalled { throw XCTSkip(missing.description) }
    }

    override func tearDown() async throws {
        try self.servers.stop()
    }

    func testTheClientFollowsAFailoverAndReloadsItsScripts() async throws {
        var configuration = try RedisConfiguration(url: self.servers.url)
        configuration.maxConnections = 4
        configuration.connectTimeout = .milliseconds(500)
        let client = RedisClient(configuration: configuration, logger: Logger(label: "sentinel-test"))
        let increment = RedisScript(name: "increment", source: "return redis.call('INCR', KEYS[1])")
        let key = TestEnvironment.uniqueName("sentinel-count")

        // Every pooled connection in use once, so that several sit idle on the old master.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { _ = try await client.send("PING") } }
            try await group.waitForAll()
        }
        let first = try await client.run(increment, keys: [key]).int
        XCTAssertEqual(first, 1)
        // The replica has the write before the master dies (replication is asynchronous).
        let acknowledged = try await client.send("WAIT", 1, 2000).int
        XCTAssertEqual(acknowledged, 1)

        // A write to the replica fails as a lost connection (callers retry), not as a server error.
        let before = try XCTUnwrap(try self.servers.masterPort())
        let replica = RedisClient(
            configuration: try RedisConfiguration(url: self.servers.directURL(port: before == 6381 ? 6382 : 6381)), logger: Logger(label: "replica")
        )
        do {
            try await replica.send("SET", key, "x")
            XCTFail("a replica refuses writes")
        } catch {
            XCTAssertTrue(error.isUnavailable, "\(error)")
            XCTAssertTrue(error.message.contains("not the master"), error.message)
        }
        try await replica.shutdown()

        // Another pool of the same configuration (as a node has several) probes
        // while `client` sits idle with its connections to the old master.
        let prober = RedisClient(configuration: configuration, logger: Logger(label: "sentinel-test"))
        let killed = try self.servers.killMaster()
        XCTAssertEqual(killed, before)
        let probe = try await FailoverProbe(prober, increment, key: key, since: .now)
        let (value, failures) = (probe.value, probe.failures)
        XCTAssertEqual(value, 2, "the new master has the write the old one made, and the script ran there (loaded on NOSCRIPT)")
        XCTAssertTrue(failures.allSatisfy(\.isUnavailable), "only unavailability while the failover ran: \(failures)")
        let after = try XCTUnwrap(try self.servers.masterPort())
        XCTAssertNotEqual(after, before)
        print("failover: calls resumed \(probe.resumedAfter) after the kill; \(failures.count) calls failed meanwhile")

        // The prober found the new master: `client`'s idle connections to the
        // dead one are dropped, not handed out, so every call of it succeeds.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<12 { group.addTask { _ = try await client.run(increment, keys: [key]) } }
            try await group.waitForAll()
        }
        let total = try await client.send("GET", key).int
        XCTAssertEqual(total, 14)
        try await client.shutdown()
        try await prober.shutdown()
    }

    func testNoSentinelAnsweringIsUnavailableWithEachReason() async throws {
        var configuration = try RedisConfiguration(url: "sentinel://127.0.0.1:1,127.0.0.1:2/nobody")
        configuration.connectTimeout = .milliseconds(300)
        let client = RedisClient(configuration: configuration, logger: Logger(label: "sentinel-test"))
        do {
            try await client.send("PING")
            XCTFail("no Sentinel answers")
        } catch {
            XCTAssertTrue(error.isUnavailable, "\(error)")
            XCTAssertTrue(error.message.contains("127.0.0.1:1") && error.message.contains("127.0.0.1:2"), error.message)
        }
        // A Sentinel that answers but knows no such master.
        let unknown = RedisClient(
            configuration: try RedisConfiguration(url: "sentinel://127.0.0.1:26381/nobody?sentinel_password=\(SentinelServers.sentinelPassword)"),
            logger: Logger(label: "sentinel-test")
        )
        do {
            try await unknown.send("PING")
            XCTFail("no master of that name")
        } catch {
            XCTAssertTrue(error.message.contains("nobody"), error.message)
        }
        try await client.shutdown()
        try await unknown.shutdown()
    }
}

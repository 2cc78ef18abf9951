import BatonRedis
import BatonTestSupport
import Foundation
import Logging
import XCTest

/// A client on `redis-cluster://` against a real cluster of 3 masters and 3
/// replicas: it follows MOVED to the master of a key's slot (commands,
/// pipelines, scripts, blocking commands), and follows a failover after that
/// master is killed, every pool of the configuration at once.
final class RedisClusterClientTests: XCTestCase {
    private let servers = ClusterServers()

    override func setUp() async throws {
        try self.servers.start()
    }

    override func tearDown() async throws {
        try self.servers.stop()
    }

    func testTheClientFollowsMovedAndAFailover() async throws {
        var configuration = try RedisConfiguration(url: self.servers.url)
        configuration.maxConnections = 4
        configuration.connectTimeout = .milliseconds(500)
        let client = RedisClient(configuration: configuration, logger: Logger(label: "cluster-test"))
        let namespace = TestEnvironment.uniqueName("cl")
        let key = "{\(namespace)}:count"
        let increment = RedisScript(name: "increment", source: "#!lua\nreturn redis.call('INCR', KEYS[1])")

        // Every pooled connection in use once: most open on a seed that does not hold the slot.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { _ = try await client.run(increment, keys: [key]) } }
            try await group.waitForAll()
        }
        let replies = try await client.pipeline([
            RedisCommand("INCR", key), RedisCommand("RPUSH", "{\(namespace)}:list", "a", "b"), RedisCommand("PING"),
        ])
        XCTAssertEqual(replies, [.integer(5), .integer(2), .status("PONG")])
        let moved = try await client.withBlockingConnection { connection in
            try await connection.blmove(from: "{\(namespace)}:list", to: "{\(namespace)}:other", timeout: .seconds(1))
        }
        XCTAssertEqual(moved, Array("a".utf8), "a blocking command across two keys of the slot")
        // The replica has the writes before the master dies (replication is asynchronous).
        let synced = try await client.send("WAIT", 1, 2000).int
        XCTAssertEqual(synced, 1)

        // A plain redis:// URL on a node that does not hold the slot says what to use.
        let before = try XCTUnwrap(try self.servers.ownerPort(namespace: namespace))
        let other = [7101, 7102, 7103].first { $0 != before }!
        let plain = RedisClient(
            configuration: try RedisConfiguration(url: "redis://:\(ClusterServers.password)@127.0.0.1:\(other)"), logger: Logger(label: "plain")
        )
        do {
            try await plain.send("GET", key)
            XCTFail("a node that does not hold the slot redirects")
        } catch {
            XCTAssertTrue(error.message.contains("redis-cluster://"), error.message)
        }
        try await plain.shutdown()

        // Another pool of the same configuration (as a node has several)
        // probes while `client` sits idle with its connections to the old master.
        let prober = RedisClient(configuration: configuration, logger: Logger(label: "cluster-test"))
        XCTAssertEqual(try self.servers.killOwner(namespace: namespace), before)
        let probe = try await FailoverProbe(prober, increment, key: key, since: .now)
        let (value, failures) = (probe.value, probe.failures)
        XCTAssertEqual(value, 6, "the promoted replica has the writes, and the script ran there")
        XCTAssertTrue(failures.allSatisfy(\.isUnavailable), "only unavailability while the failover ran: \(failures)")
        let after = try XCTUnwrap(try self.servers.ownerPort(namespace: namespace))
        XCTAssertNotEqual(after, before)
        let kinds = Dictionary(grouping: failures, by: { "\($0.kind)" }).mapValues(\.count)
        print("cluster failover: calls resumed \(probe.resumedAfter) after the kill; failed meanwhile: \(kinds)")

        // The prober followed the slot: `client`'s idle connections to the
        // dead master are dropped, not handed out, so every call of it succeeds.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<12 { group.addTask { _ = try await client.run(increment, keys: [key]) } }
            try await group.waitForAll()
        }
        let total = try await client.send("GET", key).int
        XCTAssertEqual(total, 18)
        try await client.shutdown()
        try await prober.shutdown()
    }
}

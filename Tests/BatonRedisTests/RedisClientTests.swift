import BatonRedis
import BatonTestSupport
import Logging
import XCTest

final class RedisClientTests: XCTestCase {
    private var client: RedisClient!
    private var prefix = ""

    override func setUp() async throws {
        self.client = try RedisClient(url: TestEnvironment.redisURL, logger: Logger(label: "test"))
        self.prefix = TestEnvironment.uniqueName("test")
    }

    override func tearDown() async throws {
        // Remove exactly the keys this test made.
        let keys = try await self.client.send("KEYS", "\(self.prefix)*").array ?? []
        if !keys.isEmpty {
            try await self.client.send(RedisCommand("DEL", keys.compactMap(\.bytes)))
        }
        try await self.client.shutdown()
    }

    private func key(_ name: String) -> String { "\(self.prefix):\(name)" }

    func testEveryReplyType() async throws {
        let replies = try await self.client.pipeline([
            RedisCommand("SET", key("a"), "hello"),
            RedisCommand("GET", key("a")),
            RedisCommand("INCRBY", key("n"), 41),
            RedisCommand("GET", key("missing")),
            RedisCommand("RPUSH", key("list"), "x", "y"),
            RedisCommand("LRANGE", key("list"), 0, -1),
            RedisCommand("HINCRBY", key("a"), "f", 1),  // WRONGTYPE
            RedisCommand("NOSUCHCOMMAND"),
        ])
        XCTAssertEqual(replies[0], .status("OK"))
        XCTAssertEqual(replies[1], .bulk(Array("hello".utf8)))
        XCTAssertEqual(replies[2], .integer(41))
        XCTAssertEqual(replies[3], .null)
        XCTAssertEqual(replies[4], .integer(2))
        XCTAssertEqual(replies[5], .array([.bulk(Array("x".utf8)), .bulk(Array("y".utf8))]))
        guard case .error(let wrongType) = replies[6] else { return XCTFail("expected an error reply, got \(replies[6])") }
        XCTAssertTrue(wrongType.hasPrefix("WRONGTYPE"))
        guard case .error = replies[7] else { return XCTFail("expected an error reply") }

        // `send` throws error replies, typed.
        do {
            try await self.client.send("HINCRBY", key("a"), "f", 1)
            XCTFail("expected a server error")
        } catch {
            XCTAssertEqual(error.kind, .server)
        }
        // Empty array and nil inside an array.
        let empty = try await self.client.send("LRANGE", key("nothing"), 0, -1)
        XCTAssertEqual(empty, .array([]))
        let mget = try await self.client.send("MGET", key("a"), key("missing"))
        XCTAssertEqual(mget, .array([.bulk(Array("hello".utf8)), .null]))
    }

    func testBinarySafeValuesWithEveryByte() async throws {
        let allBytes = (0...255).map { UInt8($0) }
        let binaryKey = Array(key("bin").utf8) + [0x00, 0xFF, 0x0A]
        try await self.client.send(RedisCommand("SET", [binaryKey, allBytes]))
        let back = try await self.client.send(RedisCommand("GET", [binaryKey]))
        XCTAssertEqual(back.bytes, allBytes)
        try await self.client.send(RedisCommand("DEL", [binaryKey]))

        // Empty values survive too.
        try await self.client.send("SET", key("empty"), "")
        let empty = try await self.client.send("GET", key("empty"))
        XCTAssertEqual(empty, .bulk([]))
    }

    func testThousandCommandPipeline() async throws {
        let commands = (0..<1000).map { RedisCommand("RPUSH", key("p"), $0) }
        let replies = try await self.client.pipeline(commands)
        XCTAssertEqual(replies.count, 1000)
        XCTAssertEqual(replies.last, .integer(1000))
        XCTAssertEqual(replies.map(\.int), (1...1000).map { Int64($0) })
        let last = try await self.client.send("LINDEX", key("p"), -1)
        XCTAssertEqual(last.string, "999")
    }

    func testScriptRunsAndRecoversFromNoScript() async throws {
        let script = RedisScript(
            name: "set_and_count",
            source: "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('STRLEN', KEYS[1])"
        )
        let first = try await self.client.run(script, keys: [key("s")], arguments: ["four"])
        XCTAssertEqual(first, .integer(4))

        // SCRIPT FLUSH forgets it: EVALSHA answers NOSCRIPT, the client loads it and retries.
        try await self.client.send("SCRIPT", "FLUSH")
        let second = try await self.client.run(script, keys: [key("s")], arguments: ["seven!!"])
        XCTAssertEqual(second, .integer(7))

        // The same inside a pipeline.
        try await self.client.send("SCRIPT", "FLUSH")
        let replies = try await self.client.pipeline([
            RedisCommand("SET", key("before"), "1"),
            RedisCommand(script: script, keys: [key("s")], arguments: ["ab"]),
            RedisCommand(script: script, keys: [key("t")], arguments: ["abc"]),
        ])
        XCTAssertEqual(replies, [.status("OK"), .integer(2), .integer(3)])

        // A Lua runtime error is an error reply.
        let failing = RedisScript(name: "fails", source: "return redis.call('INCR', KEYS[1])")
        try await self.client.send("SET", key("text"), "not a number")
        do {
            try await self.client.run(failing, keys: [key("text")])
            XCTFail("expected the script to fail")
        } catch {
            XCTAssertEqual(error.kind, .server)
        }
    }

    func testScriptNameIsRedisSHA1() async throws {
        let script = RedisScript(name: "one", source: "return 1")
        let loaded = try await self.client.send("SCRIPT", "LOAD", script.source)
        XCTAssertEqual(loaded.string, script.sha1)
    }

    func testBlockingMoveTimesOutThenReturnsValue() async throws {
        let source = key("src")
        let destination = key("dst")
        try await self.client.withBlockingConnection { connection in
            let started = ContinuousClock.now
            let nothing = try await connection.blmove(from: source, to: destination, timeout: .milliseconds(300))
            let waited = ContinuousClock.now - started
            XCTAssertNil(nothing)
            XCTAssertGreaterThanOrEqual(waited, .milliseconds(250))
            XCTAssertLessThan(waited, .seconds(3))

            // A value pushed while BLMOVE waits arrives at once.
            async let moved = connection.blmove(from: source, to: destination, timeout: .seconds(5))
            try await Task.sleep(for: .milliseconds(50))
            try await self.client.send("RPUSH", source, "job-1")
            let value = try await moved
            XCTAssertEqual(value, Array("job-1".utf8))
            let inFlight = try await self.client.send("LRANGE", destination, 0, -1)
            XCTAssertEqual(inFlight, .array([.bulk(Array("job-1".utf8))]))

            try await self.client.send("RPUSH", key("q"), "a")
            let popped = try await connection.brpop([key("q")], timeout: .seconds(1))
            XCTAssertEqual(popped?.key, key("q"))
            XCTAssertEqual(popped?.value, Array("a".utf8))
        }
    }

    func testBlockingCallsDoNotHoldThePool() async throws {
        // Four blocking waits at once while the pool keeps answering.
        let small = RedisClient(
            configuration: {
                var configuration = try! RedisConfiguration(url: TestEnvironment.redisURL)
                configuration.maxConnections = 2
                return configuration
            }(),
            logger: Logger(label: "test")
        )
        let prefix = self.prefix
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<4 {
                group.addTask {
                    try await small.withBlockingConnection { connection in
                        _ = try await connection.blmove(from: "\(prefix):none\(index)", to: "\(prefix):x", timeout: .seconds(1))
                    }
                }
            }
            for _ in 0..<20 { try await small.send("PING") }
            XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(900))
            try await group.waitForAll()
        }
        XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(1900))
        try await small.shutdown()
    }

    func testConcurrentCallsShareABoundedPool() async throws {
        let counter = key("counter")
        let client = self.client!
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask { try await client.send("INCR", counter) }
            }
            try await group.waitForAll()
        }
        let value = try await self.client.send("GET", counter)
        XCTAssertEqual(value.int, 200)
    }

    func testURLParsing() throws {
        let full = try RedisConfiguration(url: "redis://:s%40cret@10.0.0.1:6380/3")
        XCTAssertEqual(full.host, "10.0.0.1")
        XCTAssertEqual(full.port, 6380)
        XCTAssertEqual(full.password, "s@cret")
        XCTAssertNil(full.username)
        XCTAssertEqual(full.database, 3)
        let plain = try RedisConfiguration(url: "redis://localhost")
        XCTAssertEqual(plain.port, 6379)
        XCTAssertEqual(plain.database, 0)
        let user = try RedisConfiguration(url: "redis://app:pw@h:1")
        XCTAssertEqual(user.username, "app")
        XCTAssertEqual(user.password, "pw")
        XCTAssertThrowsError(try RedisConfiguration(url: "http://h:1"))
        XCTAssertThrowsError(try RedisConfiguration(url: "redis://h:99999"))
        XCTAssertThrowsError(try RedisConfiguration(url: "redis://h:1/x"))
    }

    func testWrongPasswordIsATypedConnectionError() async throws {
        let parsed = try RedisConfiguration(url: TestEnvironment.redisURL)
        let client = try RedisClient(url: "redis://:wrong-password@\(parsed.host):\(parsed.port)", logger: Logger(label: "test"))
        do {
            try await client.send("PING")
            XCTFail("expected AUTH to fail")
        } catch {
            XCTAssertEqual(error.kind, .connectionFailed)
            XCTAssertFalse(error.message.contains("wrong-password"))
        }
        try await client.shutdown()
    }
}

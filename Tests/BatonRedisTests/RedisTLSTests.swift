import BatonRedis
import BatonTestSupport
import Logging
import XCTest

/// `rediss://` against a real redis-server speaking TLS (certificates made by
/// openssl for the test): commands, pipelines, scripts, blocking calls and
/// timeouts through TLS; certificates from another CA, for another name,
/// or a missing client certificate refused with a clear error.
final class RedisTLSTests: XCTestCase {
    private var server: TLSRedisServer!

    override func setUp() async throws {
        self.server = try TLSRedisServer()
        try self.server.start()
    }

    override func tearDown() async throws {
        try self.server.stop()
    }

    private func client(_ url: String, configure: (inout RedisConfiguration) -> Void = { _ in }) throws -> RedisClient {
        var configuration = try RedisConfiguration(url: url)
        configuration.connectTimeout = .seconds(2)
        configure(&configuration)
        return RedisClient(configuration: configuration, logger: Logger(label: "redis-tls-test"))
    }

    func testCommandsPipelinesScriptsAndBlockingCallsOverTLS() async throws {
        let client = try self.client(self.server.url(database: 3))
        let key = TestEnvironment.uniqueName("tls")
        try await client.send("SET", key, "hello")
        let value = try await client.send("GET", key).string
        XCTAssertEqual(value, "hello")
        let database = try await client.send("CLIENT", "INFO").string ?? ""
        XCTAssertTrue(database.contains(" db=3 "), "SELECT ran over TLS: \(database)")

        // A pipeline of 1,000 commands, and a 1 MiB value: many TLS records each way.
        let replies = try await client.pipeline((0..<1000).map { _ in RedisCommand("INCR", "\(key):n") })
        XCTAssertEqual(replies.last, .integer(1000))
        let big = [UInt8](repeating: 0x61, count: 1 << 20)
        try await client.send("SET", "\(key):big", big)
        let back = try await client.send("GET", "\(key):big").bytes
        XCTAssertEqual(back, big)

        // EVALSHA after SCRIPT FLUSH: NOSCRIPT, loaded, rerun, all over TLS.
        let script = RedisScript(name: "double", source: "return 2 * redis.call('INCR', KEYS[1])")
        try await client.send("SCRIPT", "FLUSH")
        let doubled = try await client.run(script, keys: ["\(key):s"]).int
        XCTAssertEqual(doubled, 2)
        let pipelined = try await client.pipeline([RedisCommand(script: script, keys: ["\(key):s"], arguments: []), RedisCommand("GET", "\(key):s")])
        XCTAssertEqual(pipelined, [.integer(4), .bulk(Array("2".utf8))])

        // A blocking call outlives the command timeout over TLS too, then times out empty.
        let moved = try await client.withBlockingConnection { connection in
            try await connection.blmove(from: "\(key):empty", to: "\(key):to", timeout: .milliseconds(300))
        }
        XCTAssertNil(moved)

        // Through the plain port the same keys are there: one server, two ports.
        let plain = try self.client("redis://127.0.0.1:\(self.server.plainPort)/3")
        let seen = try await plain.send("GET", key).string
        XCTAssertEqual(seen, "hello")

        // AUTH goes through TLS like any command.
        try await plain.send("CONFIG", "SET", "requirepass", "tls-test-pw")
        let authenticated = try self.client(self.server.url(database: 3).replacingOccurrences(of: "rediss://", with: "rediss://:tls-test-pw@"))
        let afterAuth = try await authenticated.send("GET", key).string
        XCTAssertEqual(afterAuth, "hello")
        try await authenticated.send("CONFIG", "SET", "requirepass", "")
        try await authenticated.shutdown()
        try await plain.shutdown()
        try await client.shutdown()
    }

    func testASilentServerTimesOutAndTheNextCallReconnects() async throws {
        let client = try self.client(self.server.url()) { $0.commandTimeout = .milliseconds(300) }
        try await client.send("PING")
        try self.server.cli(["client", "pause", "1000", "all"])
        do {
            try await client.send("PING")
            XCTFail("a paused server does not answer")
        } catch {
            XCTAssertEqual(error.kind, .timeout, "\(error)")
        }
        try await Task.sleep(for: .milliseconds(800))
        let pong = try await client.send("PING").string
        XCTAssertEqual(pong, "PONG", "a fresh TLS connection replaces the broken one")
        try await client.shutdown()
    }

    func testAServerCertificateFromAnotherCAOrForAnotherNameIsRefused() async throws {
        let otherCA = try await self.pingError("rediss://127.0.0.1:\(self.server.tlsPort)?ca=\(self.server.certificates.path("other-ca.pem"))")
        XCTAssertEqual(otherCA?.kind, .connectionFailed)
        XCTAssertTrue(otherCA?.message.contains("certificate is refused") == true && otherCA?.message.contains("other-ca.pem") == true, "\(String(describing: otherCA))")
        print("another CA: \(otherCA?.message ?? "")")

        // The system's roots do not know the test CA either.
        let systemRoots = try await self.pingError("rediss://127.0.0.1:\(self.server.tlsPort)")
        XCTAssertTrue(systemRoots?.message.contains("system's CAs") == true, "\(String(describing: systemRoots))")

        // The right CA, the wrong name: the certificate names 127.0.0.1 and localhost only.
        let wrongName = try await self.pingError(self.server.url(query: "&server_name=redis.example"))
        XCTAssertTrue(wrongName?.message.contains("hostname mismatch") == true, "\(String(describing: wrongName))")
        print("wrong name: \(wrongName?.message ?? "")")
        let named = try self.client(self.server.url(query: "&server_name=localhost"))
        let pong = try await named.send("PING").string
        XCTAssertEqual(pong, "PONG", "server_name= checks the name the certificate carries")
        try await named.shutdown()

        // Plain RESP to the TLS port is no Redis conversation at all.
        let plainToTLS = try await self.pingError("redis://127.0.0.1:\(self.server.tlsPort)") { $0.commandTimeout = .milliseconds(500) }
        XCTAssertTrue(plainToTLS?.isUnavailable == true, "\(String(describing: plainToTLS))")
    }

    func testAServerThatRequiresAClientCertificate() async throws {
        try self.server.requireClientCertificates(true)
        let without = try await self.pingError(self.server.url())
        XCTAssertEqual(without?.kind, .connectionFailed)
        // The server's alert (`certificate required`), or its reset when that came first.
        XCTAssertTrue(without?.message.contains("certificate") == true, "\(String(describing: without))")
        print("no client certificate: \(without?.message ?? "")")

        let with = try self.client(self.server.url(query: self.server.clientCertificateQuery))
        let pong = try await with.send("PING").string
        XCTAssertEqual(pong, "PONG")
        try await with.shutdown()

        // A client key that does not match its certificate fails before any byte is sent.
        let mismatched = try await self.pingError(
            self.server.url(query: "&cert=\(self.server.certificates.path("client.pem"))&key=\(self.server.certificates.path("server.key"))")
        )
        XCTAssertTrue(mismatched?.message.contains("private key") == true, "\(String(describing: mismatched))")
    }

    /// How a PING through a new client of `url` fails; nil (and a test failure) when it does not.
    private func pingError(
        _ url: String, configure: (inout RedisConfiguration) -> Void = { _ in }, file: StaticString = #filePath, line: UInt = #line
    ) async throws -> RedisError? {
        let client = try self.client(url, configure: configure)
        defer { Task { try? await client.shutdown() } }
        do {
            try await client.send("PING")
            XCTFail("PING through \(url) should fail", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    /// Plain and TLS on one server in one run: single round trips (one
    /// caller), pipelines of 16 and 1,000 SETs, and connection set-up.
    func testThroughputPlainAgainstTLS() async throws {
        var lines: [String] = []
        for (label, url) in [("plain", "redis://127.0.0.1:\(self.server.plainPort)/0"), ("tls", self.server.url())] {
            let client = try self.client(url)
            let key = TestEnvironment.uniqueName("tls-bench")
            try await client.send("PING")
            let singles = 5000
            let single = try await Self.perSecond(singles) { for index in 0..<singles { try await client.send("SET", key, index) } }
            var pipelined: [String] = []
            for depth in [16, 1000] {
                let batch = (0..<depth).map { RedisCommand("SET", key, $0) }
                let rounds = 100_000 / depth
                let rate = try await Self.perSecond(rounds * depth) { for _ in 0..<rounds { _ = try await client.pipeline(batch) } }
                pipelined.append("pipelined x\(depth) \(Int(rate)) SET/s")
            }
            try await client.shutdown()
            // New connections: TCP connect (+ handshake), and one PING.
            let connects = 50
            let connectRate = try await Self.perSecond(connects) {
                for _ in 0..<connects {
                    let fresh = try self.client(url)
                    try await fresh.send("PING")
                    try await fresh.shutdown()
                }
            }
            lines.append(
                "\(label): single \(Int(single)) SET/s (\(String(format: "%.0f", 1_000_000 / single)) µs a round trip), \(pipelined.joined(separator: ", ")), "
                    + "connect+PING \(String(format: "%.2f", 1000 / connectRate)) ms"
            )
        }
        for line in lines { print("REDIS-TLS \(line)") }
    }

    private static func perSecond(_ operations: Int, _ body: () async throws -> Void) async throws -> Double {
        let started = ContinuousClock.now
        try await body()
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(operations) / seconds
    }
}

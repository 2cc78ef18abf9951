import BatonRedis
import BatonTestSupport
import Foundation
import Logging
import XCTest

/// `sentinels://` against a master, a replica and three Sentinels that all
/// speak TLS only: the client asks the Sentinels over TLS, reaches the
/// master over TLS, and follows a failover to the replica, still over TLS.
final class SentinelTLSTests: XCTestCase {
    private var certificates: TestCertificates!
    private var servers: SentinelServers!

    override func setUp() async throws {
        self.certificates = try TestCertificates(
            prefix: "sentinel-tls", authorities: ["ca"], leaves: [(name: "server", authority: "ca", extensions: "subjectAltName=IP:127.0.0.1")]
        )
        self.servers = SentinelServers(tls: self.certificates)
        do { try self.servers.start() } catch let missing as SentinelServers.NotInstalled { throw XCTSkip(missing.description) }
    }

    override func tearDown() async throws {
        try self.servers.stop()
        self.certificates.remove()
    }

    func testTheClientFindsTheMasterAndFollowsAFailoverOverTLS() async throws {
        var configuration = try RedisConfiguration(url: self.servers.url)
        configuration.connectTimeout = .milliseconds(500)
        let client = RedisClient(configuration: configuration, logger: Logger(label: "sentinel-tls-test"))
        let increment = RedisScript(name: "increment", source: "return redis.call('INCR', KEYS[1])")
        let key = TestEnvironment.uniqueName("sentinel-tls")
        let first = try await client.run(increment, keys: [key]).int
        XCTAssertEqual(first, 1)
        let acknowledged = try await client.send("WAIT", 1, 2000).int
        XCTAssertEqual(acknowledged, 1)

        let before = try XCTUnwrap(try self.servers.masterPort())
        XCTAssertEqual(try self.servers.killMaster(), before)
        let started = ContinuousClock.now
        var value: Int64?
        while value == nil, ContinuousClock.now - started < .seconds(20) {
            do { value = try await client.run(increment, keys: [key]).int } catch { try await Task.sleep(for: .milliseconds(100)) }
        }
        XCTAssertEqual(value, 2, "the new master, reached over TLS, has the write and runs the script")
        XCTAssertNotEqual(try self.servers.masterPort(), before)
        try await client.shutdown()

        // Plain Sentinel URLs get nowhere with TLS-only Sentinels.
        var plain = try RedisConfiguration(url: self.servers.url.replacingOccurrences(of: "sentinels://", with: "sentinel://").components(separatedBy: "&ca=")[0])
        plain.connectTimeout = .milliseconds(300)
        plain.commandTimeout = .milliseconds(300)
        let plainClient = RedisClient(configuration: plain, logger: Logger(label: "sentinel-tls-test"))
        do {
            try await plainClient.send("PING")
            XCTFail("plain RESP to TLS-only Sentinels")
        } catch {
            XCTAssertTrue(error.isUnavailable, "\(error)")
        }
        try await plainClient.shutdown()
    }
}

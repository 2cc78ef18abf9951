import BatonBroker
import BatonRedis
import BatonTestSupport
import Foundation
import Logging
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A node that cannot start its servers exits with an error, not a crash;
/// one that finds another release's Redis state refuses to start.
final class NodeStartupTests: XCTestCase {
    /// A loopback socket listening on a port the kernel picked.
    private func listeningSocket() throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && listen(descriptor, 1) == 0
                    && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard descriptor >= 0, bound else { throw TestEnvironment.ScriptError(description: "cannot listen on loopback") }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    func testANodeWhosePortIsTakenExitsWithAnErrorNotACrash() async throws {
        let taken = try self.listeningSocket()
        defer { close(taken.descriptor) }
        let spare = try self.listeningSocket()
        close(spare.descriptor)
        let root = TestEnvironment.repositoryRoot
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("node-logs"))
        defer { try? FileManager.default.removeItem(at: logs) }
        let namespace = TestEnvironment.uniqueName("porttest")
        let status = try ChildProcess.run(
            root.appendingPathComponent(".build/debug/baton-node").path,
            [
                "--id", "port-test", "--grpc-port", String(taken.port), "--worker-port", String(spare.port),
                "--namespace", namespace, "--migrations", root.appendingPathComponent("sql").path,
                "--log-dir", logs.path,
            ],
            environment: ProcessInfo.processInfo.environment
        )
        XCTAssertNotEqual(status, 0, "the node cannot serve: it must fail")
        XCTAssertLessThan(status, 128, "exited by itself (status \(status)), not killed by a trap or signal")

        // What the node registered under its own namespace before it gave up.
        let redis = try RedisClient(url: TestEnvironment.redisURL, logger: Logger(label: "test"))
        try await BrokerInspector(RedisBroker(redis: redis, keys: RedisKeys(namespace: namespace))).deleteNamespace()
        try await redis.shutdown()
    }

    /// Redis holds state of a release before the hash tag (`ns:sentinel`,
    /// `ns:queue:normal`): the node exits at once, naming the keys and how to
    /// delete them, and writes nothing under its own keys.
    func testANodeRefusesToStartBesideKeysOfAReleaseWithoutTheHashTag() async throws {
        let namespace = TestEnvironment.uniqueName("oldkeys")
        let keys = RedisKeys(namespace: namespace)
        let redis = try RedisClient(url: TestEnvironment.redisURL, logger: Logger(label: "test"))
        try await redis.send("SET", "\(namespace):sentinel", "1")
        try await redis.send("RPUSH", "\(namespace):queue:normal", "an old entry")
        let root = TestEnvironment.repositoryRoot
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("node-logs"))
        defer { try? FileManager.default.removeItem(at: logs) }
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let stderr = logs.appendingPathComponent("stderr.txt")
        let node = [
            root.appendingPathComponent(".build/debug/baton-node").path,
            "--id", "old-keys-test", "--grpc-port", "19393", "--worker-port", "19394", "--namespace", namespace,
            "--redis", TestEnvironment.redisURL, "--mysql", TestEnvironment.mysqlURL,
            "--migrations", root.appendingPathComponent("sql").path, "--log-dir", logs.path,
        ]
        let started = ContinuousClock.now
        // Bounded: a node that starts after all is stopped (status 124) and fails the test.
        let status = try ChildProcess.run(
            "/bin/sh", ["-c", "exec timeout 60 \"$@\" 2>\"$0\"", stderr.path] + node, environment: ProcessInfo.processInfo.environment
        )
        XCTAssertEqual(status, 1, "the node must refuse to start beside the old release's state")
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(30))
        let message = (try? String(contentsOf: stderr, encoding: .utf8)) ?? ""
        XCTAssertTrue(message.contains("\(namespace):sentinel, \(namespace):queue:normal"), message)
        XCTAssertTrue(message.contains("--pattern '\(namespace):*'") && message.contains("docs/redis.md"), message)
        let written = try await redis.send("KEYS", "\(keys.prefix):*").array ?? []
        XCTAssertEqual(written.count, 0, "nothing written under the new keys")
        try await redis.send("DEL", "\(namespace):sentinel", "\(namespace):queue:normal")
        try await redis.shutdown()
    }
}

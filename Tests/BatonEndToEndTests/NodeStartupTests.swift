import BatonRedis
import BatonTestSupport
import Foundation
import Logging
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A node that cannot start its servers exits with an error, not a crash.
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
        let keys = try await redis.send("KEYS", "\(namespace):*").array ?? []
        if !keys.isEmpty { try await redis.send(RedisCommand("DEL", keys.compactMap(\.bytes))) }
        try await redis.shutdown()
    }
}

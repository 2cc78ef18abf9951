import BatonTestSupport
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The real `baton-node` with a --config file, variables and flags: which
/// wins (`--print-config`), what is never printed, and keys rotated on a
/// running node.
final class NodeConfigTests: XCTestCase {
    private var files: [String] = []

    override func tearDown() {
        for path in self.files { try? FileManager.default.removeItem(atPath: path) }
    }

    /// A file under .run/ with `mode`, written whole then renamed into place
    /// (as a secret manager swaps a file: never seen half written nor too open).
    private func file(_ contents: String, mode: Int = 0o600, at path: String? = nil) throws -> String {
        let path = path ?? TestEnvironment.repositoryRoot.appendingPathComponent(".run/\(TestEnvironment.uniqueName("config-file"))").path
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let temporary = path + ".tmp"
        try contents.write(toFile: temporary, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: temporary)
        guard rename(temporary, path) == 0 else { throw TestEnvironment.ScriptError(description: "rename failed: errno \(errno)") }
        if !self.files.contains(path) { self.files.append(path) }
        return path
    }

    /// Runs `baton-node` to its end; its exit status and output.
    private func node(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
        let output = try self.file("")
        // The test's own variables (BATON_TEST_*, REDIS_ADDR…) must not leak into what is checked.
        let base = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BATON_") && !["REDIS_ADDR", "MYSQL_DSN"].contains($0.key) }
        let status = try ChildProcess.run(
            TestEnvironment.repositoryRoot.appendingPathComponent(".build/debug/baton-node").path, arguments,
            environment: base.merging(environment) { $1 }, output: output
        )
        return (status, try String(contentsOfFile: output, encoding: .utf8))
    }

    func testFlagsOverVariablesOverTheFileOverDefaultsWithSecretsRedacted() throws {
        let keys = try self.file("ops admin a-key-that-stays-secret\n")
        let config = try self.file(
            """
            grpc_port: 9100
            worker_port: 9101
            log_level: debug
            roles: [api, worker]
            mysql: mysql://baton:file-password@db.internal:3306/baton
            api_keys_file: \(keys)
            grpc:
              max_streams: 50
            """
        )
        let (status, output) = try self.node(
            ["--config", config, "--grpc-port", "9300", "--print-config"],
            environment: ["BATON_GRPC_PORT": "9200", "BATON_WORKER_PORT": "9201", "MYSQL_DSN": "mysql://baton:env-password@db.env:3306/baton"]
        )
        XCTAssertEqual(status, 0, output)
        for line in [
            "grpc_port: 9300  # flag",
            "worker_port: 9201  # env BATON_WORKER_PORT",
            "log_level: debug  # file",
            "roles: api,worker  # file",
            "grpc_max_streams: 50  # file",
            "capacity: 10  # default",
            "mysql: \"mysql://baton:REDACTED@db.env:3306/baton\"  # env MYSQL_DSN",
            "api_keys_file: \(keys)  # file",
            "id: \(Self.hostName())  # default",
        ] {
            XCTAssertTrue(output.contains(line), "missing \(line) in:\n\(output)")
        }
        for secret in ["file-password", "env-password", "a-key-that-stays-secret"] {
            XCTAssertFalse(output.contains(secret), "\(secret) printed")
        }
    }

    /// `--redis-namespace` is the documented name; the older `--namespace`
    /// and `BATON_NAMESPACE` still set it, so old command lines and units work.
    func testTheRedisNamespaceAnswersToItsOlderNames() throws {
        var (status, output) = try self.node(["--namespace", "old-flag", "--print-config"], environment: ["BATON_REDIS_NAMESPACE": "new-env"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("redis_namespace: old-flag  # flag"), output)
        (status, output) = try self.node(["--print-config"], environment: ["BATON_NAMESPACE": "old-env"])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("redis_namespace: old-env  # env BATON_NAMESPACE"), output)
        let config = try self.file("redis:\n  namespace: from-file\n")
        (status, output) = try self.node(["--config", config, "--print-config"], environment: [:])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("redis_namespace: from-file  # file"), output)
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func testAnUnknownKeyOrBadValueStopsTheNodeNamingIt() throws {
        let config = try self.file("grpc_prot: 9100\n")
        var (status, output) = try self.node(["--config", config, "--print-config"], environment: [:])
        XCTAssertEqual(status, 2)
        XCTAssertTrue(output.contains("unknown key grpc_prot"), output)
        (status, output) = try self.node(["--print-config"], environment: ["BATON_CONFIG": config])
        XCTAssertEqual(status, 2, "BATON_CONFIG names the file too")
        (status, output) = try self.node(["--print-config"], environment: ["BATON_CAPACITY": "many"])
        XCTAssertEqual(status, 2)
        XCTAssertTrue(output.contains("BATON_CAPACITY"), output)
    }

    /// A key file replaced under a running node: SIGHUP puts the new key in
    /// force and the removed one out; a change is picked up without a
    /// signal too; a bad file keeps the keys in force and logs no key.
    func testAPIKeysRotateWithoutARestart() async throws {
        let keys = try self.file("ops admin first-key-0123456789\n")
        let node = try WireNode(arguments: ["--api-keys-file", keys])
        defer { node.stop() }
        try await node.waitReady()
        func status(_ key: String) throws -> String {
            String(try WireNode.httpGet(port: node.httpPort, path: "/api/v1/whoami", bearer: key).prefix(12))
        }
        XCTAssertEqual(try status("first-key-0123456789"), "HTTP/1.1 200")
        XCTAssertEqual(try status("second-key-0123456789"), "HTTP/1.1 401")

        _ = try self.file("ops admin second-key-0123456789\n", at: keys)
        kill(node.pid, SIGHUP)
        let rotated = try await TestEnvironment.waitUntil(timeout: .seconds(5), every: .milliseconds(100)) {
            try status("second-key-0123456789") == "HTTP/1.1 200"
        }
        XCTAssertTrue(rotated, node.log.suffix(2000).description)
        XCTAssertEqual(try status("first-key-0123456789"), "HTTP/1.1 401", "the removed key is refused")
        XCTAssertTrue(node.isRunning, "SIGHUP does not stop the node")

        // A bad file: the keys in force stay, the error names no key.
        _ = try self.file("ops admin third-key-0123456789 default extra-field\n", at: keys)
        kill(node.pid, SIGHUP)
        let logged = try await TestEnvironment.waitUntil(timeout: .seconds(5), every: .milliseconds(100)) {
            node.log.contains("keys not reloaded")
        }
        XCTAssertTrue(logged, node.log.suffix(2000).description)
        XCTAssertEqual(try status("second-key-0123456789"), "HTTP/1.1 200")
        XCTAssertFalse(node.log.contains("third-key-0123456789"))
        XCTAssertFalse(node.log.contains("second-key-0123456789"))

        // Changed, no signal: the poll finds it.
        _ = try self.file("ops admin fourth-key-0123456789\n", at: keys)
        let polled = try await TestEnvironment.waitUntil(timeout: .seconds(10), every: .milliseconds(200)) {
            try status("fourth-key-0123456789") == "HTTP/1.1 200"
        }
        XCTAssertTrue(polled, node.log.suffix(2000).description)
        XCTAssertEqual(try status("second-key-0123456789"), "HTTP/1.1 401")
    }

    /// The JWT secret replaced under a running node: tokens of the new secret
    /// pass, tokens of the old one are refused, without a restart.
    func testTheJWTSecretRotatesWithoutARestart() async throws {
        let secret = try self.file(String(repeating: "a", count: 40) + "\n")
        let node = try WireNode(arguments: ["--jwt-hs256-secret-file", secret])
        defer { node.stop() }
        try await node.waitReady()
        let claims: [String: Any] = ["sub": "ops-bot", "role": "viewer", "tenant": "default", "exp": Int(Date().timeIntervalSince1970) + 600]
        let old = try HS256Token.mint(secretFile: secret, claims: claims, output: try self.file(""))
        func status(_ token: String) throws -> String {
            String(try WireNode.httpGet(port: node.httpPort, path: "/api/v1/whoami", bearer: token).prefix(12))
        }
        XCTAssertEqual(try status(old), "HTTP/1.1 200")

        _ = try self.file(String(repeating: "b", count: 40) + "\n", at: secret)
        let new = try HS256Token.mint(secretFile: secret, claims: claims, output: try self.file(""))
        kill(node.pid, SIGHUP)
        let rotated = try await TestEnvironment.waitUntil(timeout: .seconds(5), every: .milliseconds(100)) { try status(new) == "HTTP/1.1 200" }
        XCTAssertTrue(rotated, node.log.suffix(2000).description)
        XCTAssertEqual(try status(old), "HTTP/1.1 401", "a token of the old secret is refused")
    }
}

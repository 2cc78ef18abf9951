import BatonClient
import BatonTestSupport
import Foundation
import XCTest

/// The real `baton-node` on a non-loopback address (0.0.0.0): refused while
/// its API would be open or its gRPC plaintext, started once credentials and
/// TLS are there or each is waived by its own flag (`ExposureRule`).
final class ExposedNodeTests: XCTestCase {
    private var cleanups: [() -> Void] = []

    override func tearDown() {
        for cleanup in self.cleanups { cleanup() }
    }

    func testAnOpenPlaintextNodeOn0000ExitsSayingHowToFixIt() async throws {
        let node = try WireNode(arguments: ["--host", "0.0.0.0"])
        self.cleanups.append { node.stop() }
        let code = try await node.exitCode(within: .seconds(20))
        XCTAssertEqual(code, 2, "a refused setting: exit code 2, not a start; log:\n\(node.log)")
        let log = node.log
        XCTAssertTrue(log.contains("--host 0.0.0.0 is not loopback and the API has no credentials"), log)
        XCTAssertTrue(log.contains("--api-keys-file") && log.contains("--allow-open-api"), log)
        XCTAssertTrue(log.contains("gRPC has no TLS") && log.contains("--allow-plaintext"), log)
    }

    func testTheHostFromAVariableIsNamedInTheRefusal() async throws {
        let node = try WireNode(arguments: ["--allow-plaintext"], environment: ["BATON_HOST": "0.0.0.0"])
        self.cleanups.append { node.stop() }
        let code = try await node.exitCode(within: .seconds(20))
        XCTAssertEqual(code, 2, node.log)
        XCTAssertTrue(node.log.contains("(set by BATON_HOST)"), node.log)
        XCTAssertFalse(node.log.contains("gRPC has no TLS"), "--allow-plaintext waived that one: \(node.log)")
    }

    func testBothAllowFlagsStartAnOpenPlaintextNodeOn0000() async throws {
        let node = try WireNode(arguments: ["--host", "0.0.0.0", "--allow-open-api", "--allow-plaintext"])
        self.cleanups.append { node.stop() }
        try await node.waitReady()
        // An open API answers without a key (a refusal would throw).
        _ = try await withBatonClient(host: "127.0.0.1", port: node.grpcPort) { try await $0.stats() }
    }

    func testKeysAndTLSStartANodeOn0000WithNoAllowFlag() async throws {
        let certificates = try TestCertificates(
            prefix: "exposed", authorities: ["exposed-ca"], leaves: [("server", "exposed-ca", "subjectAltName=DNS:localhost,IP:127.0.0.1")]
        )
        self.cleanups.append { certificates.remove() }
        let secret = UUID().uuidString
        let keyFile = certificates.path("keys")
        try "ops admin ops-\(secret)\n".write(toFile: keyFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyFile)
        let node = try WireNode(arguments: [
            "--host", "0.0.0.0", "--api-keys-file", keyFile, "--tls-cert", certificates.path("server.pem"), "--tls-key", certificates.path("server.key"),
        ])
        self.cleanups.append { node.stop() }
        try await node.waitReady()
        let tls = ClientTLS(caCertificatePath: certificates.path("exposed-ca.pem"))
        // The API answers over TLS with a key (a failed handshake or key would throw).
        _ = try await withBatonClient(host: "localhost", port: node.grpcPort, apiKey: "ops-\(secret)", tls: tls) { try await $0.stats() }
    }

    /// The flags are settings like any other: a variable sets them, --print-config shows them.
    func testTheAllowFlagsAreVariablesAndPrinted() async throws {
        let output = TestEnvironment.repositoryRoot.appendingPathComponent(".run/\(TestEnvironment.uniqueName("exposed-config"))").path
        self.cleanups.append { try? FileManager.default.removeItem(atPath: output) }
        let status = try ChildProcess.run(
            TestEnvironment.repositoryRoot.appendingPathComponent(".build/debug/baton-node").path, ["--host", "0.0.0.0", "--print-config"],
            environment: ["BATON_ALLOW_OPEN_API": "true", "BATON_ALLOW_PLAINTEXT": "true", "PATH": "/usr/bin:/bin"], output: output
        )
        let printed = try String(contentsOfFile: output, encoding: .utf8)
        XCTAssertEqual(status, 0, printed)
        XCTAssertTrue(printed.contains("allow_open_api: true"), printed)
        XCTAssertTrue(printed.contains("allow_plaintext: true"), printed)
        XCTAssertTrue(printed.contains("host: 0.0.0.0"), printed)
    }
}

import BatonClient
import BatonProto
import BatonTestSupport
import Foundation
import GRPCCore
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A real `baton-node` taking JWTs on both APIs (gRPC and REST), with tokens
/// minted by docs/security.md's few lines of Python; and the start-up errors of
/// unusable key files.
final class JWTNodeTests: XCTestCase {
    private var files: [String] = []

    override func tearDown() {
        for path in self.files { try? FileManager.default.removeItem(atPath: path) }
    }

    private func file(_ contents: String, mode: Int) throws -> String {
        let path = TestEnvironment.repositoryRoot.appendingPathComponent(".run/\(TestEnvironment.uniqueName("jwt-file"))").path
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        self.files.append(path)
        return path
    }

    private func mint(secretFile: String, claims: [String: Any]) throws -> String {
        try HS256Token.mint(secretFile: secretFile, claims: claims, output: try self.file("", mode: 0o600))
    }

    func testANodeWithJWTsServesBothAPIsAndIsNotOpen() async throws {
        let secretFile = try self.file(UUID().uuidString + UUID().uuidString + "\n", mode: 0o600)
        let node = try WireNode(arguments: ["--jwt-hs256-secret-file", secretFile, "--jwt-issuer", "https://idp.test", "--task-types", "none_here"])
        defer { node.stop() }
        try await node.waitReady()
        let now = Int(Date().timeIntervalSince1970)
        let admin = try self.mint(
            secretFile: secretFile, claims: ["sub": "ops-bot", "role": "admin", "tenant": "default", "iss": "https://idp.test", "exp": now + 600]
        )
        let viewer = try self.mint(
            secretFile: secretFile, claims: ["sub": "grafana", "role": "viewer", "tenant": "billing", "iss": "https://idp.test", "exp": now + 600]
        )
        let expired = try self.mint(
            secretFile: secretFile, claims: ["sub": "ops-bot", "role": "admin", "tenant": "default", "iss": "https://idp.test", "exp": now - 60]
        )
        // No tenant claim: refused, not put in `default`.
        let tenantless = try self.mint(secretFile: secretFile, claims: ["sub": "ops-bot", "role": "admin", "iss": "https://idp.test", "exp": now + 600])
        // Expired 5 s ago by the cluster's clock: inside the default 30 s leeway.
        let justExpired = try self.mint(
            secretFile: secretFile, claims: ["sub": "ops-bot", "role": "admin", "tenant": "default", "iss": "https://idp.test", "exp": now - 5]
        )

        // gRPC: the admin's token reads configs; no credential is refused (the node is not open); a viewer may not create.
        _ = try await withBatonClient(host: "127.0.0.1", port: node.grpcPort, apiKey: admin) { client in
            try await client.admin.listTaskConfigs(.init())
        }
        var codes: [RPCError.Code?] = []
        for key in [nil, expired, tenantless, viewer] as [String?] {
            do {
                _ = try await withBatonClient(host: "127.0.0.1", port: node.grpcPort, apiKey: key) { client in
                    try await client.tasks.createTask(.with { $0.taskType = "jwt_node_none" })
                }
                codes.append(nil)
            } catch let error as RPCError {
                codes.append(error.code)
            }
        }
        XCTAssertEqual(codes, [.unauthenticated, .unauthenticated, .unauthenticated, .permissionDenied])
        _ = try await withBatonClient(host: "127.0.0.1", port: node.grpcPort, apiKey: justExpired) { client in
            try await client.admin.listTaskConfigs(.init())
        }

        // REST: the same authenticator.
        let whoami = try WireNode.httpGet(port: node.httpPort, path: "/api/v1/whoami", bearer: viewer)
        XCTAssertTrue(whoami.hasPrefix("HTTP/1.1 200") || whoami.hasPrefix("HTTP/1.0 200"), whoami)
        XCTAssertTrue(whoami.contains("jwt:grafana") && whoami.contains("billing") && whoami.contains("viewer"), whoami)
        let refused = try WireNode.httpGet(port: node.httpPort, path: "/api/v1/whoami", bearer: expired)
        XCTAssertTrue(refused.hasPrefix("HTTP/1.1 401") || refused.hasPrefix("HTTP/1.0 401"), refused)
        XCTAssertTrue(refused.contains("token expired"), refused)
        XCTAssertFalse(refused.contains(expired))

        XCTAssertTrue(node.log.contains("JWTs accepted"), node.log.suffix(2000).description)
        for token in [admin, viewer, expired] {
            XCTAssertFalse(node.log.contains(token), "a token is in the node's log")
        }
    }

    func testUnusableKeyFilesStopTheNodeWithAClearMessage() throws {
        let root = TestEnvironment.repositoryRoot
        let readable = try self.file(String(repeating: "s", count: 40), mode: 0o644)
        let secret = try self.file(String(repeating: "s", count: 40), mode: 0o600)
        let privateKey = try self.file("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n", mode: 0o600)
        let cases: [([String], String)] = [
            (["--jwt-hs256-secret-file", readable], "--jwt-hs256-secret-file: \(readable) may be read by group or others"),
            (["--jwt-hs256-secret-file", secret, "--jwt-public-key-file", secret], "exclude each other"),
            (["--jwt-public-key-file", privateKey], "holds a private key"),
            (["--jwt-hs256-secret-file", "/nonexistent/secret"], "cannot read /nonexistent/secret"),
            // The key file, read at the same point: an error too, not a trap in a half-built node.
            (["--api-keys-file", readable], "--api-keys-file: \(readable) may be read by group or others"),
        ]
        for (arguments, expected) in cases {
            let output = try self.file("", mode: 0o600)
            let logs = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("jwt-logs")).path
            self.files.append(logs)
            let status = try ChildProcess.run(
                root.appendingPathComponent(".build/debug/baton-node").path,
                [
                    "--id", "jwt-startup", "--namespace", TestEnvironment.uniqueName("jwtstart"), "--migrations", root.appendingPathComponent("sql").path,
                    "--log-dir", logs,
                    "--mysql", TestEnvironment.mysqlURL, "--redis", TestEnvironment.redisURL,
                ] + arguments,
                environment: ProcessInfo.processInfo.environment,
                output: output
            )
            let text = try String(contentsOfFile: output, encoding: .utf8)
            XCTAssertEqual(status, 1, "\(arguments): \(text)")
            XCTAssertTrue(text.contains(expected), "\(arguments): \(text)")
            XCTAssertFalse(text.contains("Fatal error"), text)
        }
    }
}

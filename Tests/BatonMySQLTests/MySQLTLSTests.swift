import BatonMySQL
import BatonTestSupport
import Foundation
import Logging
import XCTest

/// MySQL over TLS when the DSN asks for it, against a private MariaDB that
/// offers TLS with certificates made for the test.
final class MySQLTLSTests: XCTestCase {
    private let port = 13307
    private var folder = ""
    private var environment: [String: String] {
        [
            "BATON_MYSQL_PORT": String(self.port),
            "BATON_RUN_DIR": "\(self.folder)/run",
            "BATON_MYSQL_SSL_DIR": self.folder,
            "MYSQL_DSN": "",
        ]
    }

    override func setUp() async throws {
        self.folder = TestEnvironment.repositoryRoot.appendingPathComponent(".run/mysql-tls-test").path
        try? FileManager.default.removeItem(atPath: "\(self.folder)/run")
        try FileManager.default.createDirectory(atPath: self.folder, withIntermediateDirectories: true)
        let script = """
            set -e
            cd '\(self.folder)'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj "/CN=mysql-test-ca" 2>/dev/null
            openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 1 -subj "/CN=other-ca" 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 -extfile server.ext 2>/dev/null
            """
        XCTAssertEqual(try ChildProcess.run("/bin/bash", ["-c", script], environment: ProcessInfo.processInfo.environment), 0)
        try TestEnvironment.devServices(["start", "mysql"], environment: self.environment)
    }

    override func tearDown() async throws {
        try TestEnvironment.devServices(["stop", "mysql"], environment: self.environment)
        try? FileManager.default.removeItem(atPath: self.folder)
    }

    private func cipher(_ url: String) async throws -> String? {
        let client = try MySQLClient(url: url, logger: Logger(label: "test"))
        defer { Task { try? await client.shutdown() } }
        return try await client.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'").first?.string("Value")
    }

    func testConnectionIsEncryptedWhenTheDSNAsks() async throws {
        let base = "mysql://baton:\(TestEnvironment.mysqlPassword)@127.0.0.1:\(self.port)/baton_test"
        let plain = try await self.cipher(base)
        XCTAssertEqual(plain ?? "", "", "without tls=true the connection stays plain")
        let encrypted = try await self.cipher("\(base)?tls=true")
        XCTAssertFalse((encrypted ?? "").isEmpty, "tls=true must encrypt")
        let verified = try await self.cipher("\(base)?ssl-ca=\(self.folder)/ca.pem")
        XCTAssertFalse((verified ?? "").isEmpty)
        do {
            _ = try await self.cipher("\(base)?ssl-ca=\(self.folder)/other-ca.pem")
            XCTFail("a server certificate from another CA must be refused")
        } catch let error as MySQLError {
            XCTAssertEqual(error.kind, .connectionFailed)
            XCTAssertFalse(error.description.contains(TestEnvironment.mysqlPassword))
        }
    }
}

import BatonMySQL
import BatonTestSupport
import Foundation
import Logging
import XCTest

/// Restarts a private mariadbd: the call that hits the lost connection gets a
/// typed error, and later calls reconnect.
final class MySQLOutageTests: XCTestCase {
    private let port = 13306
    private var environment: [String: String] {
        [
            "BATON_MYSQL_PORT": String(self.port),
            "BATON_RUN_DIR": TestEnvironment.repositoryRoot.appendingPathComponent(".run/mysql-outage-test").path,
            // Only this private server: ignore a DSN pointing at the shared one.
            "MYSQL_DSN": "",
        ]
    }

    override func tearDown() async throws {
        try TestEnvironment.devServices(["stop", "mysql"], environment: self.environment)
    }

    func testReconnectsAfterServerRestart() async throws {
        try TestEnvironment.devServices(["start", "mysql"], environment: self.environment)
        let url = "mysql://baton:\(TestEnvironment.mysqlPassword)@127.0.0.1:\(self.port)/baton_test"
        var configuration = try MySQLConfiguration(url: url)
        configuration.maxConnections = 2
        configuration.connectTimeout = .seconds(1)
        let client = MySQLClient(configuration: configuration, logger: Logger(label: "test"))
        let before = try await client.query("SELECT 1 + 1 AS two")
        XCTAssertEqual(before.first?.int("two"), 2)

        try TestEnvironment.devServices(["stop", "mysql"], environment: self.environment)
        do {
            _ = try await client.query("SELECT 1")
            XCTFail("expected an error while MariaDB is down")
        } catch let error as MySQLError {
            XCTAssertTrue(error.isUnavailable, "unexpected \(error)")
        }
        // Still down: a fresh connection attempt fails typed too.
        do {
            _ = try await client.query("SELECT 1")
            XCTFail("expected an error while MariaDB is down")
        } catch let error as MySQLError {
            XCTAssertEqual(error.kind, .connectionFailed)
        }

        try TestEnvironment.devServices(["start", "mysql"], environment: self.environment)
        let after = try await client.query("SELECT 2 + 2 AS four")
        XCTAssertEqual(after.first?.int("four"), 4)
        let ping = await client.ping()
        XCTAssertTrue(ping)
        try await client.shutdown()
    }
}

import BatonMySQL
import BatonTestSupport
import Foundation
import Logging
import XCTest

/// Restarts a private mariadbd: the call that hits the lost connection gets a
/// typed error, and later calls reconnect.
final class MySQLOutageTests: XCTestCase {
    private let server = PrivateServer(.mysql, port: 13306, name: "mysql-outage-test")
    private var port: Int { self.server.port }

    override func tearDown() async throws {
        try self.server.stop()
    }

    func testReconnectsAfterServerRestart() async throws {
        try self.server.start()
        let url = "mysql://baton:\(TestEnvironment.mysqlPassword)@127.0.0.1:\(self.port)/baton_test"
        var configuration = try MySQLConfiguration(url: url)
        configuration.maxConnections = 2
        configuration.connectTimeout = .seconds(1)
        let client = MySQLClient(configuration: configuration, logger: Logger(label: "test"))
        let before = try await client.query("SELECT 1 + 1 AS two")
        XCTAssertEqual(before.first?.int("two"), 2)

        try self.server.stop()
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

        try self.server.start()
        let after = try await client.query("SELECT 2 + 2 AS four")
        XCTAssertEqual(after.first?.int("four"), 4)
        let ping = await client.ping()
        XCTAssertTrue(ping)
        try await client.shutdown()
    }
}

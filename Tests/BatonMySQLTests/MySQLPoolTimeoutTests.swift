import BatonMySQL
import BatonTestSupport
import Logging
import XCTest

/// A saturated pool answers at once (`.busy`, which the API maps to
/// UNAVAILABLE) instead of queueing callers without end; a pool without a
/// timeout still waits.
final class MySQLPoolTimeoutTests: XCTestCase {
    func testMySQLCallsPastTheAcquireTimeoutFailBusyAndWaitWithout() async throws {
        var configuration = try MySQLConfiguration(url: TestEnvironment.mysqlURL)
        configuration.maxConnections = 1
        configuration.acquireTimeout = .milliseconds(200)
        let mysql = MySQLClient(configuration: configuration, logger: Logger(label: "test"))
        async let holder = mysql.query("SELECT SLEEP(1.5) AS s")
        try await Task.sleep(for: .milliseconds(100))
        do {
            _ = try await mysql.query("SELECT 1 AS one")
            XCTFail("a call past the acquire timeout succeeded")
        } catch let error as MySQLError {
            XCTAssertEqual(error.kind, .busy)
        }
        do {
            _ = try await mysql.withTransaction { session in try await session.execute("SELECT 1 AS one") }
            XCTFail("a transaction past the acquire timeout began")
        } catch let error as MySQLError {
            XCTAssertEqual(error.kind, .busy)
        }
        _ = try await holder
        try await mysql.shutdown()

        // Without a timeout the second caller waits its turn.
        configuration.acquireTimeout = nil
        let patient = MySQLClient(configuration: configuration, logger: Logger(label: "test"))
        async let slow = patient.query("SELECT SLEEP(0.5) AS s")
        try await Task.sleep(for: .milliseconds(100))
        let one = try await patient.query("SELECT 1 AS one")
        XCTAssertEqual(one.first?.int("one"), 1)
        _ = try await slow
        try await patient.shutdown()
    }
}

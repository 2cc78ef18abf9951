import BatonMySQL
import BatonTestSupport
import Foundation
import Logging
import XCTest

/// A multi-host URL (`mysql://u:p@h1:p1,h2:p2/db`, the members of a Galera
/// cluster): connections go to the first server that answers, and once it
/// dies the next call runs on the next one without an error.
final class MySQLFailoverTests: XCTestCase {
    private let first = PrivateServer(.mysql, port: 13321, name: "mysql-failover-test")

    override func tearDown() async throws {
        try self.first.stop()
    }

    /// The shared test server's port, the second in every list here.
    private var second: (host: String, port: Int) {
        get throws {
            let configuration = try MySQLConfiguration(url: TestEnvironment.mysqlURL)
            return (configuration.host, configuration.port)
        }
    }

    private func client(_ hosts: String) throws -> MySQLClient {
        var configuration = try MySQLConfiguration(url: "mysql://baton:\(TestEnvironment.mysqlPassword)@\(hosts)/baton_test")
        configuration.maxConnections = 2
        configuration.connectTimeout = .seconds(1)
        return MySQLClient(configuration: configuration, logger: Logger(label: "test"))
    }

    func testURLListsEveryServer() throws {
        let configuration = try MySQLConfiguration(url: "mysql://u:secret@db1:3421,db2,db3:3423/baton?wsrep_sync_wait=7")
        XCTAssertEqual(configuration.servers.map(\.description), ["db1:3421", "db2:3306", "db3:3423"])
        XCTAssertEqual(configuration.wsrepSyncWait, 7)
        XCTAssertEqual(configuration.redacted, "mysql://u@db1:3421,db2:3306,db3:3423/baton")
        XCTAssertThrowsError(try MySQLConfiguration(url: "mysql://u:p@db1,db2/baton?wsrep_sync_wait=x"))
        XCTAssertThrowsError(try MySQLConfiguration(url: "mysql://u:p@db1,/baton"))
    }

    func testSkipsAServerThatRefuses() async throws {
        let second = try self.second
        let client = try self.client("127.0.0.1:1,\(second.host):\(second.port)")
        let rows = try await client.query("SELECT @@port AS port")
        XCTAssertEqual(rows.first?.int("port"), second.port)
        try await client.shutdown()
    }

    /// The first server stops while the pool holds idle connections to it:
    /// they are found closed before use, and the next calls run on the
    /// second server, never failing a call.
    func testMovesToTheNextServerWhenTheFirstStops() async throws {
        try self.first.start()
        let second = try self.second
        let client = try self.client("127.0.0.1:\(self.first.port),\(second.host):\(second.port)")
        async let a = client.query("SELECT @@port AS port, SLEEP(0.2)")
        async let b = client.query("SELECT @@port AS port, SLEEP(0.2)")
        let before = try await [a, b].compactMap { $0.first?.int("port") }
        XCTAssertEqual(before, [self.first.port, self.first.port])

        try self.first.stop()
        for _ in 0..<4 {
            let rows = try await client.query("SELECT @@port AS port")
            XCTAssertEqual(rows.first?.int("port"), second.port)
        }
        try await client.shutdown()
    }

    func testEveryServerDownFailsTypedNamingEach() async throws {
        let client = try self.client("127.0.0.1:1,127.0.0.1:2")
        do {
            try await client.execute("SELECT 1")
            XCTFail("expected no server to answer")
        } catch let error as MySQLError {
            XCTAssertEqual(error.kind, .connectionFailed)
            XCTAssertTrue(error.message.contains("127.0.0.1:1") && error.message.contains("127.0.0.1:2"), error.message)
        }
        try await client.shutdown()
    }
}

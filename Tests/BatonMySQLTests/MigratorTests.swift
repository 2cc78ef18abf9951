@testable import BatonMySQL
import BatonTestSupport
import Foundation
import Logging
import XCTest

final class MigratorTests: XCTestCase {
    func testSplitsStatementsOnLineEndSemicolons() {
        let statements = MySQLMigrator.split(
            """
            -- comment
            CREATE TABLE a (x INT);

            INSERT INTO a VALUES (1),
              (2);
            """
        )
        XCTAssertEqual(statements, ["CREATE TABLE a (x INT)", "INSERT INTO a VALUES (1),\n  (2)"])
    }

    func testConcurrentMigrationsApplyEachVersionOnce() async throws {
        let client = try MySQLClient(url: TestEnvironment.mysqlURL, logger: Logger(label: "test"))
        let table = "m_" + TestEnvironment.uniqueName("mig").replacingOccurrences(of: "-", with: "_")
        let versionBase = Int.random(in: 1_000_000..<2_000_000_000)
        let migrations = [
            MySQLMigrator.Migration(version: versionBase, name: "\(versionBase)_create", statements: ["CREATE TABLE `\(table)` (x INT)"]),
            MySQLMigrator.Migration(version: versionBase + 1, name: "\(versionBase + 1)_seed", statements: ["INSERT INTO `\(table)` VALUES (1)"]),
        ]
        let migrator = MySQLMigrator(migrations: migrations, logger: Logger(label: "test"))
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<3 { group.addTask { try await migrator.migrate(client) } }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        XCTAssertEqual(applied.sorted(), [versionBase, versionBase + 1])
        let rows = try await client.query("SELECT COUNT(*) AS n FROM `\(table)`")
        XCTAssertEqual(rows.first?.int("n"), 1)

        try await client.execute("DROP TABLE `\(table)`")
        try await client.execute("DELETE FROM schema_version WHERE version IN (?, ?)", [.int(Int64(versionBase)), .int(Int64(versionBase + 1))])
        try await client.shutdown()
    }

    func testProjectMigrationsApplyAndSeedBuiltins() async throws {
        let client = try MySQLClient(url: TestEnvironment.mysqlURL, logger: Logger(label: "test"))
        let migrator = try MySQLMigrator(directory: TestEnvironment.migrationsDirectory, logger: Logger(label: "test"))
        XCTAssertEqual(migrator.migrations.map(\.version), [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13])
        try await migrator.migrate(client)
        // A second run finds nothing to do.
        let again = try await migrator.migrate(client)
        XCTAssertEqual(again, [])
        let types = try await client.query("SELECT task_type FROM task_config WHERE executor = 'local' ORDER BY task_type")
        XCTAssertEqual(Set(types.compactMap { $0.string("task_type") }).isSuperset(of: ["echo", "fail", "noop", "sleep"]), true)
        try await client.shutdown()
    }
}

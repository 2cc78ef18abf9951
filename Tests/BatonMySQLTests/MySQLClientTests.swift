@testable import BatonMySQL
import BatonTestSupport
import Foundation
import Logging
import XCTest

final class MySQLClientTests: XCTestCase {
    private var client: MySQLClient!
    private var table = ""

    override func setUp() async throws {
        self.client = try MySQLClient(url: TestEnvironment.mysqlURL, logger: Logger(label: "test"))
        self.table = "t_" + TestEnvironment.uniqueName("types").replacingOccurrences(of: "-", with: "_")
        try await self.client.execute(
            """
            CREATE TABLE `\(self.table)` (
              id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
              s VARCHAR(255) NULL,
              i BIGINT NULL,
              d DOUBLE NULL,
              b BOOLEAN NULL,
              bin BLOB NULL,
              t DATETIME(6) NULL,
              big MEDIUMTEXT NULL,
              UNIQUE KEY uk_s (s)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
            """
        )
    }

    override func tearDown() async throws {
        try await self.client.execute("DROP TABLE IF EXISTS `\(self.table)`")
        try await self.client.shutdown()
    }

    func testEveryBindTypeRoundTrips() async throws {
        let date = Date(timeIntervalSince1970: 1_764_000_123.456789)
        let bytes = (0...255).map { UInt8($0) }
        let insert = try await self.client.execute(
            "INSERT INTO `\(self.table)` (s, i, d, b, bin, t) VALUES (?, ?, ?, ?, ?, ?)",
            [.string("héllo 🎉 世界"), .int(Int64.min + 1), .double(3.141592653589793), .bool(true), .bytes(bytes), .date(date)]
        )
        XCTAssertEqual(insert.affectedRows, 1)
        XCTAssertEqual(insert.lastInsertID, 1)
        try await self.client.execute(
            "INSERT INTO `\(self.table)` (s, i, d, b, bin, t) VALUES (?, ?, ?, ?, ?, ?)",
            [.null, .null, .null, .null, .null, .null]
        )

        let rows = try await self.client.query("SELECT id, s, i, d, b, bin, t, big FROM `\(self.table)` ORDER BY id")
        XCTAssertEqual(rows.count, 2)
        let row = rows[0]
        XCTAssertEqual(row.string("s"), "héllo 🎉 世界")
        XCTAssertEqual(row.int64("i"), Int64.min + 1)
        XCTAssertEqual(row.double("d"), 3.141592653589793)
        XCTAssertEqual(row.bool("b"), true)
        XCTAssertEqual(row.bytes("bin"), bytes)
        XCTAssertEqual(row["bin"], .bytes(bytes))
        XCTAssertEqual(row.date("t")!.timeIntervalSince1970, date.timeIntervalSince1970, accuracy: 0.000_000_5)
        XCTAssertEqual(row["big"], .null)
        XCTAssertEqual(row["no_such_column"], .null)

        for column in ["s", "i", "d", "b", "bin", "t"] {
            XCTAssertEqual(rows[1][column], .null, column)
        }

        // Microseconds survive exactly, and the value is UTC.
        let micros = try await self.client.query(
            "SELECT DATE_FORMAT(t, '%Y-%m-%d %H:%i:%s.%f') AS text FROM `\(self.table)` WHERE id = 1"
        )
        XCTAssertEqual(micros.first?.string("text"), "2025-11-24 16:02:03.456789")
    }

    func testLargeTextAndHostileStringsAreStoredVerbatim() async throws {
        let large = String(repeating: "0123456789abcdef", count: 65_536)  // 1 MiB
        let hostile = "'; DROP TABLE task; --"
        try await self.client.execute("INSERT INTO `\(self.table)` (s, big) VALUES (?, ?)", [.string(hostile), .string(large)])
        let rows = try await self.client.query("SELECT s, big FROM `\(self.table)` WHERE s = ?", [.string(hostile)])
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows.first?.string("s"), hostile)
        XCTAssertEqual(rows.first?.string("big")?.utf8.count, large.utf8.count)
        XCTAssertEqual(rows.first?.string("big"), large)
        // Values just around the inline buffer size.
        for length in [511, 512, 513] {
            let text = String(repeating: "x", count: length)
            try await self.client.execute("UPDATE `\(self.table)` SET big = ? WHERE s = ?", [.string(text), .string(hostile)])
            let back = try await self.client.query("SELECT big FROM `\(self.table)`")
            XCTAssertEqual(back.first?.string("big"), text)
        }
    }

    func testTransactionCommitsOrRollsBack() async throws {
        try await self.client.withTransaction { session in
            try await session.execute("INSERT INTO `\(self.table)` (s) VALUES (?)", ["kept"])
        }
        struct Boom: Error {}
        do {
            try await self.client.withTransaction { session in
                try await session.execute("INSERT INTO `\(self.table)` (s) VALUES (?)", ["rolled back"])
                throw Boom()
            }
            XCTFail("expected the error to pass through")
        } catch is Boom {}
        let rows = try await self.client.query("SELECT s FROM `\(self.table)`")
        XCTAssertEqual(rows.compactMap { $0.string("s") }, ["kept"])
    }

    func testStatementsInOneTripCommitTogetherOrNotAtAll() async throws {
        let table = self.table
        let results = try await self.client.transaction { trip in
            let inserted = try trip.execute("INSERT INTO `\(table)` (s, i) VALUES (?, ?)", ["a", 1]).affectedRows
            // A decision on the first answer, in the same trip.
            let updated = inserted == 1 ? try trip.execute("UPDATE `\(table)` SET i = i + 1 WHERE s = ?", ["a"]).affectedRows : 0
            return [inserted, updated]
        }
        XCTAssertEqual(results, [1, 1])
        do {
            try await self.client.transaction { trip in
                try trip.execute("INSERT INTO `\(table)` (s, i) VALUES (?, ?)", ["b", 1])
                try trip.execute("INSERT INTO `\(table)` (s, i) VALUES (?, ?)", ["a", 1])
            }
            XCTFail("expected a duplicate key error")
        } catch let error as MySQLError {
            XCTAssertEqual(error.kind, .duplicateKey)
        }
        let rows = try await self.client.query("SELECT s, i FROM `\(self.table)` ORDER BY s")
        XCTAssertEqual(rows.map { "\($0.string("s") ?? "")=\($0.int("i") ?? 0)" }, ["a=2"], "the failed one left nothing behind")
    }

    func testDuplicateKeyIsTyped() async throws {
        try await self.client.execute("INSERT INTO `\(self.table)` (s) VALUES (?)", ["same"])
        do {
            try await self.client.execute("INSERT INTO `\(self.table)` (s) VALUES (?)", ["same"])
            XCTFail("expected a duplicate key error")
        } catch let error as MySQLError {
            XCTAssertEqual(error.kind, .duplicateKey)
            XCTAssertEqual(error.code, 1062)
            XCTAssertEqual(error.sqlState, "23000")
        }
        do {
            try await self.client.execute("SELEKT 1")
            XCTFail("expected a syntax error")
        } catch let error as MySQLError {
            XCTAssertEqual(error.kind, .server)
            XCTAssertEqual(error.code, 1064)
        }
        do {
            try await self.client.execute("SELECT ?", [])
            XCTFail("expected a bind count error")
        } catch let error as MySQLError {
            XCTAssertEqual(error.kind, .misuse)
        }
        // The connection is still good after server errors.
        let rows = try await self.client.query("SELECT COUNT(*) AS n FROM `\(self.table)`")
        XCTAssertEqual(rows.first?.int("n"), 1)
    }

    /// A value per row through `KeyedCase`, both forms, on ids of the task
    /// table's type (`CHAR(36) ascii_bin`, UUIDs) and on ids the tree must not
    /// take (a space, non-ASCII): every row gets its own value, whatever the
    /// order of the ids given.
    func testAKeyedCaseGivesEveryRowItsValue() async throws {
        let table = self.table + "_keyed"
        try await self.client.execute(
            "CREATE TABLE `\(table)` (k CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY, v BIGINT NULL, t DATETIME(6) NULL)"
        )
        defer { Task { [client] in try? await client?.execute("DROP TABLE IF EXISTS `\(table)`") } }
        let uuids = (0..<300).map { _ in UUID().uuidString.lowercased() }
        for keys in [uuids, ["a b", "a", "a!", "Z", "z", "0", "~", "a\u{7F}", "x", "y", "b"]] {
            try await self.client.execute("DELETE FROM `\(table)`")
            _ = try await self.client.insertRows(into: table, columns: ["k"], rows: keys.map { [.string($0)] })
            for count in [keys.count, 9, 64].filter({ $0 <= keys.count }) {
                let rows = StatementShape.padded(Array(keys.shuffled().prefix(count)))
                let base = Date(timeIntervalSince1970: 1_764_000_000)
                let value = Dictionary(rows.map { ($0, Int64.random(in: 1...1_000_000)) }, uniquingKeysWith: { first, _ in first })
                let number = KeyedCase.sql(column: "k", keys: rows, values: rows.map { .int(value[$0]!) })
                let time = KeyedCase.sql(column: "k", keys: rows, values: rows.map { .date(base.addingTimeInterval(Double(value[$0]!) / 1000)) })
                try await self.client.execute(
                    "UPDATE `\(table)` SET v = \(number.sql), t = \(time.sql) WHERE k IN (\(StatementShape.repeated("?", count: rows.count)))",
                    number.binds + time.binds + rows.map(MySQLValue.string)
                )
                let read = try await self.client.query("SELECT k, v, t FROM `\(table)` WHERE v IS NOT NULL")
                XCTAssertEqual(read.count, Set(rows).count)
                for row in read {
                    let key = try XCTUnwrap(row.string("k"))
                    XCTAssertEqual(row.int("v").map(Int64.init), value[key], "\(key) of \(count)")
                    XCTAssertEqual(row.date("t")?.timeIntervalSince1970 ?? 0, base.timeIntervalSince1970 + Double(value[key]!) / 1000, accuracy: 0.000_01)
                }
                try await self.client.execute("UPDATE `\(table)` SET v = NULL, t = NULL")
            }
        }
    }

    func testMultiRowInsertOfManyRows() async throws {
        let rows: [[MySQLValue]] = (0..<2500).map { [.string("row-\($0)"), .int(Int64($0))] }
        let affected = try await self.client.insertRows(into: self.table, columns: ["s", "i"], rows: rows)
        XCTAssertEqual(affected, 2500)
        let count = try await self.client.query("SELECT COUNT(*) AS n, SUM(i) AS total FROM `\(self.table)`")
        XCTAssertEqual(count.first?.int("n"), 2500)
        XCTAssertEqual(count.first?.int("total"), (0..<2500).reduce(0, +))
    }

    /// Rows of several megabytes in one call: statements split by bytes stay
    /// below max_allowed_packet (16 MiB), so the insert succeeds whole.
    func testMultiRowInsertOfLargeRowsSplitsByBytes() async throws {
        let table = self.table + "_large"
        try await self.client.execute("CREATE TABLE `\(table)` (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, s MEDIUMTEXT, i BIGINT)")
        defer { Task { [client = self.client!] in try? await client.execute("DROP TABLE IF EXISTS `\(table)`") } }
        let big = String(repeating: "x", count: 1_000_000)
        let rows: [[MySQLValue]] = (0..<40).map { [.string(big), .int(Int64($0))] }
        XCTAssertEqual(MultiRowInsert.runs(rows, maxBytes: MultiRowInsert.maxStatementBytes), Array(repeating: 4, count: 10))
        let affected = try await self.client.insertRows(into: table, columns: ["s", "i"], rows: rows)
        XCTAssertEqual(affected, 40)
        let count = try await self.client.query("SELECT COUNT(*) AS n, SUM(LENGTH(s)) AS bytes FROM `\(table)`")
        XCTAssertEqual(count.first?.int("n"), 40)
        XCTAssertEqual(count.first?.int("bytes"), 40_000_000)
        // A row larger than the budget goes alone; small ones around it share.
        let mixed: [[MySQLValue]] = [[.string("a"), .int(1)], [.string(String(repeating: "y", count: 5 << 20)), .int(2)], [.string("b"), .int(3)], [.string("c"), .int(4)]]
        XCTAssertEqual(MultiRowInsert.runs(mixed, maxBytes: MultiRowInsert.maxStatementBytes), [1, 1, 2])
    }

    /// A single statement chosen as a deadlock's victim was rolled back whole;
    /// the client runs it again, and the caller sees it succeed once.
    func testAStatementLosingADeadlockIsRunAgain() async throws {
        let table = self.table
        let client = self.client!
        let rows: [[MySQLValue]] = (1...60).map { [.string("r\($0)"), .int(0)] }
        try await client.insertRows(into: table, columns: ["s", "i"], rows: rows)
        let single = try await client.withTransaction { heavy -> Task<MySQLResult, any Error> in
            // The heavier transaction (many rows changed) is not the victim.
            try await heavy.execute("UPDATE `\(table)` SET i = i + 1 WHERE id BETWEEN 10 AND 60")
            try await heavy.execute("UPDATE `\(table)` SET i = i + 1 WHERE id = 2")
            // Locks row 1, then waits for row 2.
            let single = Task { try await client.execute("UPDATE `\(table)` SET i = i + 10 WHERE id IN (1, 2)") }
            let waiting = try await TestEnvironment.waitUntil(timeout: .seconds(5), every: .milliseconds(5)) {
                // Our own connections are visible without the PROCESS privilege.
                try await client.query(
                    "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND STATE = 'Updating'", [.string("%i + 10%")]
                ).first?.int("n") == 1
            }
            XCTAssertTrue(waiting)
            // Closes the cycle: InnoDB rolls the single statement back.
            try await heavy.execute("UPDATE `\(table)` SET i = i + 1 WHERE id = 1")
            return single
        }
        // Run again once the transaction committed: no error reaches the caller, each row got +10 once.
        let result = try await single.value
        XCTAssertEqual(result.affectedRows, 2)
        let final = try await client.query("SELECT id, i FROM `\(table)` WHERE id IN (1, 2) ORDER BY id").map { $0.int("i") }
        XCTAssertEqual(final, [11, 11])
    }

    func testConcurrentQueriesShareThePool() async throws {
        let client = self.client!
        let table = self.table
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<100 {
                group.addTask {
                    try await client.execute("INSERT INTO `\(table)` (s, i) VALUES (?, ?)", [.string("c\(index)"), .int(Int64(index))])
                }
            }
            try await group.waitForAll()
        }
        let count = try await self.client.query("SELECT COUNT(*) AS n FROM `\(self.table)`")
        XCTAssertEqual(count.first?.int("n"), 100)
    }

    func testURLParsing() throws {
        let configuration = try MySQLConfiguration(url: "mysql://app:p%40ss@db.internal:3307/baton")
        XCTAssertEqual(configuration.user, "app")
        XCTAssertEqual(configuration.password, "p@ss")
        XCTAssertEqual(configuration.host, "db.internal")
        XCTAssertEqual(configuration.port, 3307)
        XCTAssertEqual(configuration.database, "baton")
        XCTAssertFalse(configuration.redacted.contains("p@ss"))
        XCTAssertThrowsError(try MySQLConfiguration(url: "mysql://host/db"))
        XCTAssertThrowsError(try MySQLConfiguration(url: "mysql://u:p@host"))
        XCTAssertThrowsError(try MySQLConfiguration(url: "postgres://u:p@host/db"))
        // Malformed query strings are refused with a message, never a crash.
        for url in ["mysql://u:p@host/db?=", "mysql://u:p@host/db?=x", "mysql://u:p@host/db?&=&"] {
            XCTAssertThrowsError(try MySQLConfiguration(url: url), url) { error in
                XCTAssertTrue("\(error)".contains("no name"), "\(error)")
                XCTAssertFalse("\(error)".contains(":p@"), "no password in the message")
            }
        }
        XCTAssertNoThrow(try MySQLConfiguration(url: "mysql://u:p@host/db?ssl-mode=&x=1"))
    }

    func testAUnixSocketReachesTheServerWithoutTCP() async throws {
        // The server says where its socket is (CI's own MariaDB or another).
        let socket = try await self.client.query("SELECT @@socket AS path").first?.string("path") ?? ""
        try XCTSkipIf(socket.isEmpty, "the server listens on no Unix socket")
        var configuration = try MySQLConfiguration(url: TestEnvironment.mysqlURL)
        configuration.unixSocket = socket
        let viaSocket = MySQLClient(configuration: configuration, logger: Logger(label: "test"))
        // A socket connection's peer is "localhost"; a TCP one's is "127.0.0.1:<port>".
        let host = try await viaSocket.query("SELECT HOST AS host FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()").first?.string("host")
        XCTAssertEqual(host, "localhost")
        try await viaSocket.execute("INSERT INTO `\(self.table)` (s) VALUES (?)", [.string("over the socket")])
        let rows = try await self.client.query("SELECT s FROM `\(self.table)`")
        XCTAssertEqual(rows.map { $0.string("s") }, ["over the socket"])
        try await viaSocket.shutdown()

        // A socket that is not there fails the connect, typed, naming no password.
        configuration.unixSocket = "/nonexistent/mysqld.sock"
        try await Self.assertConnectFails(configuration)
    }

    func testSocketURLParsing() throws {
        let configuration = try MySQLConfiguration(url: "mysql://app:secret@localhost/baton?socket=/run/mysqld/mysqld.sock")
        XCTAssertEqual(configuration.unixSocket, "/run/mysqld/mysqld.sock")
        XCTAssertEqual(configuration.redacted, "mysql://app@localhost/baton?socket=/run/mysqld/mysqld.sock")
        XCTAssertNil(try MySQLConfiguration(url: "mysql://app:secret@localhost/baton").unixSocket)
        XCTAssertThrowsError(try MySQLConfiguration(url: "mysql://u:p@localhost/db?socket=relative.sock"))
        XCTAssertThrowsError(try MySQLConfiguration(url: "mysql://u:p@h1,h2/db?socket=/run/mysqld/mysqld.sock"))
    }

    func testWrongPasswordFailsTypedWithoutLeakingIt() async throws {
        var configuration = try MySQLConfiguration(url: TestEnvironment.mysqlURL)
        configuration.password = "definitely-wrong"
        try await Self.assertConnectFails(configuration)
    }

    /// A client on `configuration` fails its first statement with a typed
    /// connection failure whose message does not hold the password.
    static func assertConnectFails(_ configuration: MySQLConfiguration, file: StaticString = #filePath, line: UInt = #line) async throws {
        let client = MySQLClient(configuration: configuration, logger: Logger(label: "test"))
        do {
            try await client.execute("SELECT 1")
            XCTFail("expected the connect to fail", file: file, line: line)
        } catch let error as MySQLError {
            XCTAssertEqual(error.kind, .connectionFailed, file: file, line: line)
            if !configuration.password.isEmpty {
                XCTAssertFalse(error.description.contains(configuration.password), "the password in \(error)", file: file, line: line)
            }
        }
        try await client.shutdown()
    }
}

final class KeyedCaseTests: XCTestCase {
    func testAFewArmsOrKeysThatMaySortOtherwiseAreAPlainList() {
        let few = KeyedCase.sql(column: "k", keys: ["b", "a"], values: [1, 2])
        XCTAssertEqual(few.sql, "CASE k WHEN ? THEN ? WHEN ? THEN ? END")
        XCTAssertEqual(few.binds, ["b", 1, "a", 2])
        let spaced = (0..<16).map { "id \($0)" }
        XCTAssertFalse(KeyedCase.sql(column: "k", keys: spaced, values: spaced.indices.map { .int(Int64($0)) }).sql.contains("<"))
        // One value for every row: one bind.
        let shared = KeyedCase.sql(column: "k", keys: spaced, values: spaced.map { _ in 7 })
        XCTAssertEqual(shared.sql, "?")
        XCTAssertEqual(shared.binds, [7])
    }

    func testManyArmsAreASearchTreeOfSortedLeaves() {
        let keys = (0..<32).map { String(format: "k%02d", $0) }.shuffled()
        let values = keys.map { MySQLValue.string("v" + $0.dropFirst()) }
        let (sql, binds) = KeyedCase.sql(column: "k", keys: keys, values: values)
        // 32 arms: a pivot, two pivots, four leaves of eight.
        XCTAssertEqual(sql.components(separatedBy: "k < ?").count - 1, 3)
        XCTAssertEqual(sql.components(separatedBy: "WHEN ? THEN ?").count - 1, 32)
        XCTAssertEqual(binds.count, 3 + 64)
        // Walk the tree as MariaDB would: every key reaches its own value.
        for (key, value) in zip(keys, values) {
            XCTAssertEqual(Self.evaluate(sql, binds, key: key), value, key)
        }
        // The text depends on the count alone.
        XCTAssertEqual(KeyedCase.sql(column: "k", keys: keys.shuffled(), values: values).sql, sql)
    }

    /// Evaluates the tree's text for one key (pivots and leaves in bind order).
    private static func evaluate(_ sql: String, _ binds: [MySQLValue], key: String) -> MySQLValue? {
        var tokens = sql.split(separator: " ").map(String.init)[...]
        var values = binds[...]
        func take(_ expected: String) { XCTAssertEqual(tokens.popFirst(), expected) }
        func bind() -> MySQLValue { take("?"); return values.popFirst()! }
        // A CASE … END: its value for `key` when `taken`, else skipped (binds too).
        func value(taken: Bool) -> MySQLValue? {
            take("CASE")
            if tokens.first == "WHEN" {  // the tree: CASE WHEN k < ? THEN … ELSE … END
                take("WHEN"); take("k"); take("<")
                guard case .string(let pivot) = bind() else { return nil }
                let lower = key.utf8.lexicographicallyPrecedes(pivot.utf8)
                take("THEN")
                let below = value(taken: taken && lower)
                take("ELSE")
                let above = value(taken: taken && !lower)
                take("END")
                return lower ? below : above
            }
            take("k")  // a leaf: CASE k WHEN ? THEN ? … END
            var found: MySQLValue?
            while tokens.first == "WHEN" {
                take("WHEN"); let arm = bind(); take("THEN"); let armValue = bind()
                if taken, found == nil, arm == .string(key) { found = armValue }
            }
            take("END")
            return found
        }
        return value(taken: true)
    }
}

final class StatementShapeTests: XCTestCase {
    func testSizesArePowersOfTwo() {
        XCTAssertEqual([0, 1, 2, 3, 4, 5, 8, 9, 100, 256, 257].map(StatementShape.size(for:)), [0, 1, 2, 4, 4, 8, 8, 16, 128, 256, 512])
    }

    func testPaddingRepeatsTheLastItem() {
        XCTAssertEqual(StatementShape.padded(["a", "b", "c"]), ["a", "b", "c", "c"])
        XCTAssertEqual(StatementShape.padded(["a", "b"]), ["a", "b"])
        XCTAssertEqual(StatementShape.padded([String]()), [])
    }

    func testRepeatedListsMatchJoinedOnes() {
        for count in [0, 1, 2, 3, 256] {
            XCTAssertEqual(StatementShape.repeated("?", count: count), Array(repeating: "?", count: count).joined(separator: ", "))
            XCTAssertEqual(StatementShape.repeated("(?, ?)", count: count, separator: " OR "), Array(repeating: "(?, ?)", count: count).joined(separator: " OR "))
        }
    }

    func testInsertChunksArePowersOfTwoUpToTheLimit() {
        XCTAssertEqual(StatementShape.chunks(of: 0, limit: 512), [])
        XCTAssertEqual(StatementShape.chunks(of: 37, limit: 512), [32, 4, 1])
        XCTAssertEqual(StatementShape.chunks(of: 1300, limit: 512), [512, 512, 256, 16, 4])
        for count in 1...1100 {
            let chunks = StatementShape.chunks(of: count, limit: 256)
            XCTAssertEqual(chunks.reduce(0, +), count)
            XCTAssertTrue(chunks.allSatisfy { $0 <= 256 && $0 & ($0 - 1) == 0 })
        }
    }
}

/// A row's columns by name: the positional guess (the column after the last
/// one asked for) answers as the name lookup would, in any order asked.
final class MySQLColumnsTests: XCTestCase {
    func testPositionsInOrderOutOfOrderAndMissing() {
        let columns = MySQLColumns(names: ["task_id", "task_type", "a_column_name_longer_than_fifteen", "status"])
        XCTAssertEqual(columns.position(of: "task_id"), 0)
        XCTAssertEqual(columns.position(of: "task_type"), 1)
        XCTAssertEqual(columns.position(of: "a_column_name_longer_than_fifteen"), 2)
        XCTAssertEqual(columns.position(of: "status"), 3)
        XCTAssertEqual(columns.position(of: "task_type"), 1)
        XCTAssertEqual(columns.position(of: "task_id"), 0)
        XCTAssertNil(columns.position(of: "missing"))
        XCTAssertEqual(columns.position(of: "status"), 3)
        XCTAssertNil(columns.position(of: "after_the_last"))
    }

    func testARepeatedNameAnswersItsFirstPosition() {
        let columns = MySQLColumns(names: ["id", "n", "id"])
        XCTAssertEqual(columns.position(of: "id"), 0)
        XCTAssertEqual(columns.position(of: "n"), 1)
        XCTAssertEqual(columns.position(of: "id"), 0, "not the repeat after `n`")
    }

    func testRowsReadTheirOwnValues() {
        let columns = MySQLColumns(names: ["x", "y"])
        let first = MySQLRow(columns: columns, values: [.int(1), .string("a")])
        let second = MySQLRow(columns: columns, values: [.int(2), .string("b")])
        XCTAssertEqual(first.int("x"), 1)
        XCTAssertEqual(second.string("y"), "b")
        XCTAssertEqual(second.int("x"), 2)
        XCTAssertEqual(first.string("y"), "a")
        XCTAssertNil(first.string("z"))
    }
}

import ArgumentParser
import BatonModel
import BatonMySQL
import BatonStore
import Foundation
import Logging

/// `baton-bench stats`: what GetStats' task counts cost with N rows in
/// `task` — the counters it reads now against the `GROUP BY status` it ran
/// before. Fills a database of its own (default `baton_big`) once with
/// generated finished tasks and a small backlog; later runs reuse it.
struct StatsBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "GetStats' task counts with millions of rows.")

    @Option(help: "MySQL URL of a scratch database (created and filled on first use).")
    var mysql = "mysql://root@127.0.0.1:3306/baton_big"
    @Option(help: "Rows in task.") var rows = 10_000_000
    @Option(help: "Unfinished (QUEUED) rows among them.") var waiting = 10_000
    @Option(help: "Timed reads of each kind.") var reads = 20

    func run() async throws {
        var logger = Logger(label: "baton-bench")
        logger.logLevel = .warning
        let configuration = try MySQLConfiguration(url: self.mysql)
        var server = configuration
        server.database = ""
        let admin = MySQLClient(configuration: server, logger: logger)
        try await admin.execute("CREATE DATABASE IF NOT EXISTS `\(configuration.database)`")
        try await admin.shutdown()
        let mysql = MySQLClient(configuration: configuration, logger: logger)
        try await MySQLMigrator(directory: URL(fileURLWithPath: "sql"), logger: logger).migrate(mysql)
        let store = TaskStore(mysql: mysql)

        let present = try await mysql.query("SELECT COUNT(*) AS n FROM task").first?.int("n") ?? 0
        if present < self.rows {
            let filling = ContinuousClock.now
            try await self.fill(mysql, from: present)
            print("filled task to \(self.rows) rows in \(ContinuousClock.now - filling)")
            try await store.auditCounts()
        }

        var counters = Latencies()
        var grouped = Latencies()
        var counts: [TaskStatus: Int64] = [:]
        for _ in 0..<self.reads {
            let started = ContinuousClock.now
            counts = try await store.countsByStatus()
            counters.record(ContinuousClock.now - started)
        }
        for _ in 0..<max(1, self.reads / 4) {
            let started = ContinuousClock.now
            _ = try await mysql.query("SELECT status, COUNT(*) AS n FROM task GROUP BY status")
            grouped.record(ContinuousClock.now - started)
        }
        let total = counts.values.reduce(0, +)
        print("\nbaton-bench stats (\(total) tasks: \(counts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.wireName.dropFirst(12).lowercased()) \($0.value)" }.joined(separator: ", ")))")
        print("task counts from the counters (GetStats now):      \(counters.summary)")
        print("task counts by GROUP BY status (GetStats before):  \(grouped.summary)")
        print("BENCH stats rows=\(total) counters_p50_ms=\(Latencies.ms(counters.percentile(50))) counters_p99_ms=\(Latencies.ms(counters.percentile(99))) group_by_p50_ms=\(Latencies.ms(grouped.percentile(50)))")
        try await mysql.shutdown()
    }

    /// Generated rows, a million per statement (MariaDB's sequence engine):
    /// 96 % SUCCEEDED, 3 % FAILED, 1 % CANCELLED, the last `waiting` QUEUED;
    /// time-ordered ids, one row every 250 µs from 30 days ago.
    private func fill(_ mysql: MySQLClient, from present: Int) async throws {
        let start = Date().addingTimeInterval(-30 * 86_400)
        var next = present
        while next < self.rows {
            let count = min(1_000_000, self.rows - next)
            let first = next
            // Id: 12 hex digits of milliseconds (one row every 250 µs), then a counter.
            try await mysql.execute(
                """
                INSERT INTO task (task_id, task_type, priority, payload, status, attempt, max_retries, timeout_seconds,
                  created_at, updated_at, started_at, finished_at)
                SELECT
                  CONCAT(SUBSTR(LPAD(HEX(? + (seq DIV 4)), 12, '0'), 1, 8), '-', SUBSTR(LPAD(HEX(? + (seq DIV 4)), 12, '0'), 9, 4),
                         '-7', LPAD(HEX(seq MOD 4096), 3, '0'), '-8000-', LPAD(HEX(seq), 12, '0')),
                  'bench_big', 0, '{}',
                  CASE WHEN seq >= ? THEN 2 WHEN seq MOD 100 < 3 THEN 6 WHEN seq MOD 100 = 3 THEN 7 ELSE 5 END,
                  1, 0, 60, ts, ts, ts, IF(seq >= ?, NULL, ts)
                FROM (SELECT seq, FROM_UNIXTIME(? + seq / 4000) AS ts FROM seq_\(first)_to_\(first + count - 1)) AS s
                """,
                [.int(Int64(start.timeIntervalSince1970 * 1000)), .int(Int64(start.timeIntervalSince1970 * 1000)),
                 .int(Int64(self.rows - self.waiting)), .int(Int64(self.rows - self.waiting)), .int(Int64(start.timeIntervalSince1970))]
            )
            next += count
            print("  \(next) rows")
        }
    }
}

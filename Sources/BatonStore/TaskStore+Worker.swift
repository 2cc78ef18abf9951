import BatonModel
import BatonMySQL
import Foundation

extension TaskStore: AttemptStore {
    /// Starts tasks on a worker: each still waiting (QUEUED, SCHEDULED or
    /// RETRYING; never one that was cancelled or finished meanwhile) at the
    /// generation its entry carries becomes RUNNING as its next attempt.
    /// Never a task of a paused type (the pause and the start lock each
    /// other's rows: once PauseTaskType returned, no start of its type
    /// lands), and nothing for a worker the leader of `cluster` fenced
    /// (declared dead).
    /// Returns the tasks this call started. `earlier` are the start times of
    /// tries of the same batch that failed without an answer: rows one of
    /// them started are claimed too, their start time moved to `now` (their
    /// attempt begins now).
    public func start(
        _ claims: [StartClaim], workerID: String, cluster: String = "", now: Date, earlier: [Date] = [], checksPause: Bool = true
    ) async throws -> [TaskRecord] {
        guard !claims.isEmpty else { return [] }
        let claims = StatementShape.padded(claims)
        let ids = claims.map { MySQLValue.string($0.taskID) }
        let marks = Self.placeholders(ids.count)
        let running = MySQLValue.int(Int64(TaskStatus.running.rawValue))
        var claimed: UInt64 = 0
        if !earlier.isEmpty {
            claimed = try await self.mysql.execute(
                """
                UPDATE task FORCE INDEX (PRIMARY) SET started_at = ?, updated_at = ?
                WHERE task_id IN (\(marks)) AND status = ? AND worker_id = ? AND started_at IN (\(Self.placeholders(earlier.count)))
                """,
                [.date(now), .date(now)] + ids + [running, .string(workerID)] + earlier.map(MySQLValue.date)
            ).affectedRows
        }
        let (sql, binds) = Self.startStatement(claims, workerID: workerID, cluster: cluster, now: now, checksPause: checksPause)
        let result = try await self.mysql.execute(sql, binds)
        guard result.affectedRows + claimed > 0 || !earlier.isEmpty else { return [] }
        // The start time (µs) and worker single out the rows this statement changed.
        let started = try await self.mysql.query(
            "SELECT \(Self.selectColumns) FROM task WHERE task_id IN (\(marks)) AND status = ? AND worker_id = ? AND started_at = ?",
            ids + [running, .string(workerID), .date(now)]
        ).map(Self.record)
        // The executor gets the results of the tasks each depends on (no read for tasks without).
        return try await self.withDependencyResults(started)
    }

    /// The start write of `start` (claims already padded to their shape).
    /// Both checks are read once per statement, each a locking read of one
    /// key range (the fence's; the paused types' on idx_task_config_paused,
    /// usually empty): a pause or fence and a start write wait for each
    /// other, and a batch costs two index dives, not a lock per task (one
    /// lock per task on its type's row cost a quarter of the throughput).
    static func startStatement(
        _ claims: [StartClaim], workerID: String, cluster: String, now: Date, checksPause: Bool = true
    ) -> (sql: String, binds: [MySQLValue]) {
        let pairs = StatementShape.repeated("(?, ?)", count: claims.count)
        let sql = """
            UPDATE task FORCE INDEX (PRIMARY) SET status = ?, attempt = attempt + 1, started_at = ?, worker_id = ?, updated_at = ?
            WHERE status IN (?, ?, ?) AND task_id IN (\(Self.placeholders(claims.count))) AND (task_id, generation) IN (\(pairs))
              AND NOT EXISTS (SELECT 1 FROM worker_fence WHERE cluster = ? AND worker_id = ?)\(checksPause ? Self.notPaused : "")
            """
        let binds: [MySQLValue] = [.int(Int64(TaskStatus.running.rawValue)), .date(now), .string(workerID), .date(now)]
            + Self.statusValues(Self.startable) + claims.map { .string($0.taskID) }
            + claims.flatMap { [MySQLValue.string($0.taskID), .int(Int64($0.generation))] } + [.string(cluster), .string(workerID)]
        return (sql, binds)
    }

    /// The pause check of a start: no task of a paused type.
    static let notPaused = "\n  AND task_type NOT IN (SELECT task_type FROM task_config WHERE paused = 1)"

    /// The deferred start (docs/deferred-start.md): of the tasks these
    /// entries name, those a start write would start now (still waiting at
    /// the entry's generation, not of a paused type, the worker not fenced),
    /// read and not written, as the attempt about to run (RUNNING, the next
    /// attempt, this worker, started `now`). The worker's claim in Redis
    /// keeps a second copy from running meanwhile; the start is written
    /// only for an attempt still running after the window (`start`,
    /// without the pause check), else by its outcome write.
    public func startable(_ claims: [StartClaim], workerID: String, cluster: String = "", now: Date) async throws -> [TaskRecord] {
        guard !claims.isEmpty else { return [] }
        let (sql, binds) = Self.startableStatement(StatementShape.padded(claims), workerID: workerID, cluster: cluster)
        var started = try await self.mysql.query(sql, binds).map(Self.record)
        // Entries of one generation (the usual batch) were read at it;
        // otherwise each row is kept only at one of its entries' generations
        // (two entries of one task: the row matches at most one).
        if Self.sharedGeneration(claims) == nil {
            let generation = Dictionary(claims.map { ($0.taskID, $0.generation) }, uniquingKeysWith: { first, _ in first })
            started.removeAll { row in
                generation[row.taskID] != row.generation && !claims.contains { $0.taskID == row.taskID && $0.generation == row.generation }
            }
        }
        for index in started.indices {
            started[index].status = .running
            started[index].attempt += 1
            started[index].startedAt = now
            started[index].workerID = workerID
        }
        // The executor gets the results of the tasks each depends on (no read for tasks without).
        return try await self.withDependencyResults(started)
    }

    /// The read of `startable`: the start write's conditions, read. The
    /// entries' generation is one `generation = ?` when they share it, else
    /// left to `startable` to compare on the rows read: a `(task_id,
    /// generation) IN (…)` row list, as the write has, cost MariaDB a fix and
    /// a range analysis of its own per statement (~15,000 instructions a
    /// task under `make bench-cost`).
    static func startableStatement(_ claims: [StartClaim], workerID: String, cluster: String) -> (sql: String, binds: [MySQLValue]) {
        let shared = Self.sharedGeneration(claims)
        let sql = """
            SELECT \(Self.selectColumns) FROM task FORCE INDEX (PRIMARY)
            WHERE status IN (?, ?, ?) AND task_id IN (\(Self.placeholders(claims.count)))\(shared == nil ? "" : " AND generation = ?")
              AND NOT EXISTS (SELECT 1 FROM worker_fence WHERE cluster = ? AND worker_id = ?)\(Self.notPaused)
            """
        let binds: [MySQLValue] = Self.statusValues(Self.startable) + claims.map { .string($0.taskID) }
            + (shared.map { [MySQLValue.int(Int64($0))] } ?? []) + [.string(cluster), .string(workerID)]
        return (sql, binds)
    }

    /// The generation every entry carries, if they share one (padding
    /// repeats an entry, so padded and unpadded claims agree).
    static func sharedGeneration(_ claims: [StartClaim]) -> Int? {
        guard let first = claims.first?.generation, claims.allSatisfy({ $0.generation == first }) else { return nil }
        return first
    }

    /// Entries of generation 0 (a task's first wait): tests and benchmarks.
    public func start(_ taskIDs: [String], workerID: String, cluster: String = "", now: Date, earlier: [Date] = []) async throws -> [TaskRecord] {
        try await self.start(taskIDs.map { ($0, 0) }, workerID: workerID, cluster: cluster, now: now, earlier: earlier)
    }

    /// What a start write may start.
    static let startable: [TaskStatus] = [.queued, .scheduled, .retrying]

    /// Of claims a start write did not start, those whose task still waits at
    /// that generation (its type was paused, or the worker was fenced): their
    /// entries go back to the queue rather than being dropped. The others
    /// (cancelled, finished, started by another entry, stale) are dropped.
    public func stillWaiting(_ claims: [StartClaim]) async throws -> Set<String> {
        guard !claims.isEmpty else { return [] }
        let wanted = Dictionary(claims.map { ($0.taskID, $0.generation) }, uniquingKeysWith: { first, _ in first })
        let rows = try await self.mysql.query(
            "SELECT task_id, generation FROM task WHERE task_id IN (\(Self.placeholders(wanted.count))) AND status IN (?, ?, ?)",
            wanted.keys.map(MySQLValue.string) + Self.statusValues(Self.startable)
        )
        return Set(rows.compactMap { row in
            guard let id = row.string("task_id"), wanted[id] == row.int("generation") else { return nil }
            return id
        })
    }

    /// (Every UPDATE of the hot path names the primary key: with few RUNNING
    /// or QUEUED rows the optimizer prefers the status index, and its
    /// next-key locks then cover the gap where new QUEUED rows go, so every
    /// create waited for the outcome and start writes under way.)
    ///
    /// Records the outcomes of the attempts a worker finished, in one
    /// statement: each row changes only while it is still RUNNING that
    /// attempt (a cancel or the leader's timeout recovery may have ended it
    /// meanwhile). `now` must be unique among this worker's writes; `earlier`
    /// are the times of tries of the same group that failed without an
    /// answer (one may have committed: its rows count as changed). Returns
    /// the ids whose row changed (`applied`), and what the write did to the
    /// dependents of the tasks it ended (see `settleDependents`): released
    /// tasks are the caller's to enqueue.
    ///
    /// Tasks without dependents cost nothing more: the worker's copy of the
    /// row says whether it has dependents; the rows it says have none are
    /// written with `has_dependents = 0` in the WHERE (a flag set since the
    /// worker read the row makes the row not match, and the write falls to
    /// the slow path below, which settles it), and only rows with the flag
    /// read the edge table.
    public func recordWorkerOutcomes(
        _ attempts: [FinishedAttempt], workerID: String, cluster: String = "", now: Date, earlier: [Date] = []
    ) async throws -> (applied: Set<String>, settled: SettledDependents) {
        guard !attempts.isEmpty else { return ([], SettledDependents()) }
        let plain = attempts.filter { !$0.hasDependents }
        let flagged = attempts.filter(\.hasDependents)
        let writer = (workerID: workerID, cluster: cluster)
        let plainUpdate = plain.isEmpty ? nil : Self.outcomeStatement(plain, now: now, plainOnly: true, writer: writer)
        let flaggedUpdate = flagged.isEmpty ? nil : Self.outcomeStatement(flagged, now: now, plainOnly: false, writer: writer)
        let intended = Dictionary(attempts.map { ($0.taskID, $0) }, uniquingKeysWith: { first, _ in first })
        let ids = StatementShape.padded(attempts).map { MySQLValue.string($0.taskID) }
        // One transaction in one trip: the rows, the finished counts and the
        // dependents change together. When a row had moved on (or a lost try
        // wrote some), this worker and the unique `now` single out what this
        // statement changed, and only that is counted.
        return try await self.mysql.transaction { trip in
            let affected = try (plainUpdate.map { try trip.execute($0.sql, $0.binds).affectedRows } ?? 0)
                + (flaggedUpdate.map { try trip.execute($0.sql, $0.binds).affectedRows } ?? 0)
            if affected == attempts.count {
                try Self.addFinished(Self.finishedDeltas(attempts.map { ($0.tenant, $0.status) }), in: trip)
                let settled = try Self.settleDependents(of: flagged.filter(\.status.isTerminal).map { ($0.taskID, $0.status) }, now: now, in: trip)
                return (Set(attempts.map(\.taskID)), settled)
            }
            // Rows flagged since the worker read them: written now, without the condition.
            var late: [FinishedAttempt] = []
            if !plain.isEmpty {
                // A row whose start was not written yet reads its previous attempt.
                let flaggedSince = try trip.execute(
                    "SELECT task_id, attempt, status FROM task FORCE INDEX (PRIMARY) WHERE task_id IN (\(Self.placeholders(ids.count))) AND status IN (?, ?, ?, ?) AND has_dependents = 1",
                    ids + Self.statusValues([.running] + Self.startable)
                ).rows.compactMap { row -> FinishedAttempt? in
                    guard let attempt = row.string("task_id").flatMap({ intended[$0] }), !attempt.hasDependents, let read = row.int("attempt") else { return nil }
                    let written = row.int("status") == TaskStatus.running.rawValue
                    return attempt.attempt == (written ? read : read + 1) ? attempt : nil
                }
                if !flaggedSince.isEmpty {
                    let statement = Self.outcomeStatement(flaggedSince, now: now, plainOnly: false, writer: writer)
                    if try trip.execute(statement.sql, statement.binds).affectedRows > 0 { late = flaggedSince }
                }
            }
            guard affected > 0 || !earlier.isEmpty || !late.isEmpty else { return ([], SettledDependents()) }
            let changed = try trip.execute(
                "SELECT task_id, status, updated_at, has_dependents FROM task WHERE task_id IN (\(Self.placeholders(ids.count))) AND worker_id = ? AND updated_at IN (\(Self.placeholders(earlier.count + 1)))",
                ids + [.string(workerID), .date(now)] + earlier.map(MySQLValue.date)
            ).rows.filter { row in row.string("task_id").flatMap { intended[$0]?.status.rawValue } == row.int("status") }
            let mineRows = changed.filter { $0.date("updated_at")?.microseconds == now.microseconds }
            let mine = mineRows.compactMap { $0.string("task_id").flatMap { intended[$0] } }
            try Self.addFinished(Self.finishedDeltas(mine.map { ($0.tenant, $0.status) }), in: trip)
            let parents = mineRows.filter { $0.int("has_dependents") == 1 }.compactMap { $0.string("task_id").flatMap { intended[$0] } }
                .filter(\.status.isTerminal).map { ($0.taskID, $0.status) }
            let settled = try Self.settleDependents(of: parents, now: now, in: trip)
            return (Set(changed.compactMap { $0.string("task_id") }), settled)
        }
    }

    /// The outcome write of `recordWorkerOutcomes` for some of a group's rows:
    /// a row changes while it runs that attempt, either RUNNING it (its start
    /// was written) or still waiting at the attempt's generation with the
    /// attempt not yet counted (an attempt shorter than the deferred-start
    /// window: the write records its start too, and lands only while the
    /// worker is not fenced).
    static func outcomeStatement(
        _ attempts: [FinishedAttempt], now: Date, plainOnly: Bool, writer: (workerID: String, cluster: String)
    ) -> (sql: String, binds: [MySQLValue]) {
        let rows = StatementShape.padded(attempts)
        // A column whose value differs between rows is a `KeyedCase` (a
        // search tree of `CASE` arms: a plain list of arms is quadratic in
        // the group, measured as a third of MariaDB's instructions per task
        // with groups of 256). A column the whole group shares (a status, an
        // empty result, the first attempt, the start of one take) is one value.
        let keys = rows.map(\.taskID)
        func column(_ value: (FinishedAttempt) -> MySQLValue) -> (sql: String, binds: [MySQLValue]) {
            KeyedCase.sql(column: "task_id", keys: keys, values: rows.map(value))
        }
        let ids = rows.map { MySQLValue.string($0.taskID) }
        let status = column { .int(Int64($0.status.rawValue)) }
        let result = column { MySQLValue($0.result) }
        let error = column { MySQLValue($0.error) }
        let finished = column { $0.status.isTerminal ? .date(now) : .null }
        let started = column { .date($0.startedAt ?? now) }
        // Once for the SET, once for each branch of the WHERE.
        let attempt = column { .int(Int64($0.attempt)) }
        let generation = column { .int(Int64($0.generation)) }
        // A scheduled retry waits anew: its next entry is of the next generation.
        let bump = column { .int($0.status == .retrying ? 1 : 0) }
        let retryAt = column { MySQLValue($0.retryAt) }
        let running = MySQLValue.int(Int64(TaskStatus.running.rawValue))
        // SET applies left to right: the start columns read the old status.
        let update = """
            UPDATE task FORCE INDEX (PRIMARY) SET started_at = IF(status = ?, started_at, \(started.sql)), worker_id = ?, attempt = \(attempt.sql),
              status = \(status.sql), result = \(result.sql), error = \(error.sql), finished_at = \(finished.sql),
              generation = generation + \(bump.sql), retry_at = \(retryAt.sql), updated_at = ?
            WHERE task_id IN (\(Self.placeholders(ids.count)))\(plainOnly ? " AND has_dependents = 0" : "")
              AND ((status = ? AND attempt = \(attempt.sql))
                OR (status IN (?, ?, ?) AND attempt + 1 = \(attempt.sql) AND generation = \(generation.sql)
                    AND NOT EXISTS (SELECT 1 FROM worker_fence WHERE cluster = ? AND worker_id = ?)))
            """
        let binds: [MySQLValue] = [running] + started.binds + [.string(writer.workerID)] + attempt.binds
            + status.binds + result.binds + error.binds + finished.binds + bump.binds + retryAt.binds + [.date(now)]
            + ids + [running] + attempt.binds + Self.statusValues(Self.startable) + attempt.binds + generation.binds
            + [.string(writer.cluster), .string(writer.workerID)]
        return (update, binds)
    }

    /// Counts an attempt that ran unwritten (shorter than the deferred-start
    /// window) on a row a cancel ended meanwhile without counting it (the
    /// cancel read no claim yet): the row then says the attempt began, as
    /// it did. Changes nothing when the cancel counted it or the row moved on.
    public func countCancelledAttempt(_ taskID: String, attempt: Int, generation: Int, workerID: String, startedAt: Date) async throws {
        try await self.mysql.execute(
            """
            UPDATE task FORCE INDEX (PRIMARY) SET attempt = ?, worker_id = ?, started_at = ?
            WHERE task_id = ? AND status = ? AND generation = ? AND attempt + 1 = ?
            """,
            [.int(Int64(attempt)), .string(workerID), .date(startedAt), .string(taskID), .int(Int64(TaskStatus.cancelled.rawValue)),
             .int(Int64(generation)), .int(Int64(attempt))]
        )
    }

    /// Undoes the start of an attempt the worker hands back unfinished
    /// (graceful stop, no slot within `readyLimit`): QUEUED again, the
    /// attempt not spent. The worker then hands its entry back
    /// (`RedisBroker.handBackInFlight`).
    public func undoStart(_ taskID: String, attempt: Int, now: Date) async throws -> Bool {
        try await self.mysql.execute(
            """
            UPDATE task FORCE INDEX (PRIMARY) SET status = ?, attempt = attempt - 1, started_at = NULL, updated_at = ?
            WHERE task_id = ? AND status = ? AND attempt = ?
            """,
            [.int(Int64(TaskStatus.queued.rawValue)), .date(now), .string(taskID), .int(Int64(TaskStatus.running.rawValue)), .int(Int64(attempt))]
        ).affectedRows == 1
    }
}

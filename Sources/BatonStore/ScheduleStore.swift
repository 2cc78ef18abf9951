import BatonModel
import BatonMySQL
import Foundation

/// Schedules in the `schedule` table, and the fires that create their tasks
/// (`schedule_fire`, whose primary key makes each (schedule, fire time)
/// create at most one task, whoever writes it).
public struct ScheduleStore: Sendable {
    let mysql: StoreMySQL

    public init(mysql: MySQLClient) {
        self.mysql = StoreMySQL(client: mysql)
    }

    /// ListSchedules answers at most this many (the contract has no pages).
    public static let listLimit = 10_000

    private static let written =
        "schedule_id, tenant, cron, time_zone, task_type, payload, priority, paused, misfire, overlap, timeout_seconds, max_retries, next_fire_at, created_at, updated_at"
    private static let columns = written + ", last_fire_at, last_task_id"

    public func schedule(_ scheduleID: String) async throws -> ScheduleRecord? {
        try await self.mysql.query("SELECT \(Self.columns) FROM schedule WHERE schedule_id = ?", [.string(scheduleID)])
            .first.map(Self.record)
    }

    public func all() async throws -> [ScheduleRecord] {
        try await self.mysql.query("SELECT \(Self.columns) FROM schedule ORDER BY schedule_id LIMIT ?", [.int(Int64(Self.listLimit))])
            .map(Self.record)
    }

    /// Creates or replaces a schedule (its fire history stays). An edit that
    /// keeps the expression and the zone keeps the pending fire time, so
    /// editing a paused schedule's payload does not forgive its missed
    /// fires; a new expression or zone starts from `nextFireAt`.
    public func put(_ schedule: ScheduleRecord) async throws {
        try await self.mysql.execute(
            """
            INSERT INTO schedule (\(Self.written)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON DUPLICATE KEY UPDATE
              next_fire_at = IF(cron = VALUES(cron) AND time_zone = VALUES(time_zone), next_fire_at, VALUES(next_fire_at)),
              tenant = VALUES(tenant), cron = VALUES(cron), time_zone = VALUES(time_zone), task_type = VALUES(task_type),
              payload = VALUES(payload), priority = VALUES(priority), paused = VALUES(paused), misfire = VALUES(misfire),
              overlap = VALUES(overlap), timeout_seconds = VALUES(timeout_seconds), max_retries = VALUES(max_retries),
              updated_at = VALUES(updated_at)
            """,
            Self.values(schedule)
        )
    }

    /// Removes a schedule; false when there was none. Its tasks stay.
    @discardableResult
    public func delete(_ scheduleID: String) async throws -> Bool {
        try await self.mysql.execute("DELETE FROM schedule WHERE schedule_id = ?", [.string(scheduleID)]).affectedRows > 0
    }

    /// Removes up to `limit` fire records of a schedule older than
    /// `before` (all of them without `before`): a range of the primary key.
    /// A fire time that old can never fire again (next_fire_at only moves
    /// on from now), and its task is gone with its retention.
    public func pruneFires(_ scheduleID: String, before: Date? = nil, limit: Int) async throws -> Int {
        Int(
            try await self.mysql.execute(
                "DELETE FROM schedule_fire WHERE schedule_id = ? AND scheduled_for < ? ORDER BY scheduled_for LIMIT ?",
                [.string(scheduleID), .date(before ?? Date.distantFuture), .int(Int64(limit))]
            ).affectedRows
        )
    }

    /// Schedules of a task type (DeleteTaskConfig refuses to orphan them).
    public func scheduleIDs(taskType: String, limit: Int = 10) async throws -> [String] {
        try await self.mysql.query(
            "SELECT schedule_id FROM schedule FORCE INDEX (idx_schedule_type) WHERE task_type = ? LIMIT ?", [.string(taskType), .int(Int64(limit))]
        ).compactMap { $0.string("schedule_id") }
    }

    // MARK: the leader's questions

    /// When the earliest unpaused schedule is due: the head of one range of
    /// idx_schedule_due, whatever the number of schedules.
    static let nextDueQuery =
        "SELECT next_fire_at FROM schedule FORCE INDEX (idx_schedule_due) WHERE paused = 0 AND next_fire_at IS NOT NULL ORDER BY next_fire_at LIMIT 1"

    public func nextDue() async throws -> Date? {
        try await self.mysql.query(Self.nextDueQuery).first?.date("next_fire_at")
    }

    static let dueQuery =
        "SELECT \(columns) FROM schedule FORCE INDEX (idx_schedule_due) WHERE paused = 0 AND next_fire_at IS NOT NULL AND next_fire_at <= ? ORDER BY next_fire_at LIMIT ?"

    /// Unpaused schedules due by `now`, earliest first.
    public func due(now: Date, limit: Int) async throws -> [ScheduleRecord] {
        try await self.mysql.query(Self.dueQuery, [.date(now), .int(Int64(limit))]).map(Self.record)
    }

    // MARK: fires

    /// What a fire wrote.
    public struct Fired: Sendable, Equatable {
        /// The tasks it created (to be queued in Redis).
        public var created: [TaskRecord]
        /// Why fire times got no task (already fired, overlap, type unavailable).
        public var notes: [String]
        /// Unfinished tasks this fire cancelled (overlap cancel-previous),
        /// and their dependents that ended with them: the caller signals
        /// their workers and queues, as CancelTask does.
        public var cancelled: [TaskRecord] = []

        public init(created: [TaskRecord], notes: [String], cancelled: [TaskRecord] = []) {
            self.created = created
            self.notes = notes
            self.cancelled = cancelled
        }
    }

    /// One schedule's fire as the leader planned it: the schedule as read,
    /// the tasks of its due fire times, and where it goes next.
    public struct Fire: Sendable {
        public var schedule: ScheduleRecord
        public var tasks: [TaskRecord]
        public var next: Date?

        public init(schedule: ScheduleRecord, tasks: [TaskRecord], next: Date?) {
            self.schedule = schedule
            self.tasks = tasks
            self.next = next
        }
    }

    /// Fires a due schedule as the leader read it (see `fire(_:fence:)`).
    public func fire(
        _ schedule: ScheduleRecord, tasks: [TaskRecord], next: Date?, now: Date, fence: LeaderFence?
    ) async throws -> Fired? {
        try await self.fire([Fire(schedule: schedule, tasks: tasks, next: next)], fence: fence)[0]
    }

    /// Fires due schedules as the leader read them, in one transaction
    /// fenced by the leader's term: for each, creates its tasks (each
    /// carrying its fire time) and moves it to its next fire time. A
    /// schedule that changed since it was read (fired by an earlier leader,
    /// edited, paused, deleted) gets nil and nothing is written for it; when
    /// the fence is gone nothing is written at all (every answer nil). A
    /// fire time that already has its task is left out (the unique key of
    /// schedule_fire): a fire happens once, across leaders and triggers.
    /// One transaction for many schedules: a thousand due at one instant
    /// cost a few commits, not a thousand.
    public func fire(_ fires: [Fire], fence: LeaderFence?) async throws -> [Fired?] {
        let rows = fires.map { $0.tasks.map(Self.taskValues) }
        return try await self.mysql.transaction { trip -> [Fired?] in
            // A share lock on the term's epoch row: a later leader's claim
            // waits for this commit, and one that came first is seen here.
            if let fence {
                let current = try trip.execute(
                    "SELECT 1 FROM leader_epoch WHERE cluster = ? AND epoch = ? LOCK IN SHARE MODE", fence.values
                ).rows
                guard !current.isEmpty else { return fires.map { _ in nil } }
            }
            var answers: [Fired?] = []
            var created: [(task: TaskRecord, row: [MySQLValue])] = []
            for (fire, taskRows) in zip(fires, rows) {
                let schedule = fire.schedule
                guard let due = schedule.nextFireAt,
                    let row = try trip.execute(
                        "SELECT last_task_id FROM schedule WHERE schedule_id = ? AND next_fire_at = ? AND updated_at = ? AND paused = 0 FOR UPDATE",
                        [.string(schedule.scheduleID), .date(due), .date(schedule.updatedAt)]
                    ).rows.first
                else {
                    answers.append(nil)
                    continue
                }
                var notes: [String] = []
                var cancelled: [TaskRecord] = []
                let fresh = try Self.admit(
                    fire.tasks, rows: taskRows, schedule: schedule, lastTaskID: row.string("last_task_id"), trip: trip,
                    notes: &notes, cancelled: &cancelled
                )
                try trip.execute(
                    "UPDATE schedule SET next_fire_at = ?, last_fire_at = COALESCE(?, last_fire_at), last_task_id = COALESCE(?, last_task_id) WHERE schedule_id = ?",
                    [MySQLValue(fire.next), MySQLValue(fire.tasks.compactMap(\.scheduledFor).max()), MySQLValue(fresh.last?.task.taskID), .string(schedule.scheduleID)]
                )
                created += fresh
                answers.append(Fired(created: fresh.map(\.task), notes: notes, cancelled: cancelled))
            }
            try Self.insert(created, trip: trip)
            return answers
        }
    }

    /// Creates the schedule's task now, outside its fire times (TriggerSchedule).
    public func trigger(_ schedule: ScheduleRecord, task: TaskRecord) async throws -> Fired? {
        let row = Self.taskValues(task)
        return try await self.mysql.transaction { trip -> Fired? in
            let locked = try trip.execute("SELECT last_task_id FROM schedule WHERE schedule_id = ? FOR UPDATE", [.string(schedule.scheduleID)]).rows
            guard locked.first != nil else { return nil }
            var notes: [String] = []
            var cancelled: [TaskRecord] = []
            var allowing = schedule
            allowing.overlap = .allow  // a trigger is the operator's explicit ask
            let fresh = try Self.admit(
                [task], rows: [row], schedule: allowing, lastTaskID: nil, trip: trip, notes: &notes, cancelled: &cancelled
            )
            try Self.insert(fresh, trip: trip)
            if let created = fresh.first {
                try trip.execute(
                    "UPDATE schedule SET last_fire_at = ?, last_task_id = ? WHERE schedule_id = ?",
                    [MySQLValue(created.task.scheduledFor), .string(created.task.taskID), .string(schedule.scheduleID)]
                )
            }
            return Fired(created: fresh.map(\.task), notes: notes)
        }
    }

    /// The tasks of a fire that may be created: not already fired, not
    /// overlapping an unfinished previous task (overlap skip: one at most;
    /// cancel-previous: one at most, the previous task cancelled in this
    /// transaction), and only while the type is configured and enabled (read
    /// under a share lock, as CreateTask's insert does, so a delete waits for it).
    private static func admit(
        _ tasks: [TaskRecord], rows: [[MySQLValue]], schedule: ScheduleRecord, lastTaskID: String?, trip: MySQLTrip,
        notes: inout [String], cancelled: inout [TaskRecord]
    ) throws -> [(task: TaskRecord, row: [MySQLValue])] {
        var fresh = Array(zip(tasks, rows)).map { (task: $0.0, row: $0.1) }
        guard !fresh.isEmpty else { return [] }
        // The previous task, when still unfinished under a policy that cares.
        var previous: (taskID: String, status: TaskStatus)?
        if schedule.overlap != .allow {
            // Fire times missed together run one task: under either policy
            // each would stop (or end) the one before it at once.
            if fresh.count > 1 {
                notes.append("\(fresh.count - 1) missed fire time(s) left out: overlap \(schedule.overlap == .skip ? "skip" : "cancel-previous") runs one task at a time")
                fresh = [fresh.last!]
            }
            if let lastTaskID,
                let status = try trip.execute("SELECT status FROM task WHERE task_id = ?", [.string(lastTaskID)]).rows.first?.int("status")
                    .flatMap(TaskStatus.init(rawValue:)),
                !status.isTerminal
            {
                guard schedule.overlap == .cancelPrevious else {
                    notes.append("skipped: the previous task \(lastTaskID) is unfinished (overlap skip)")
                    return []
                }
                previous = (lastTaskID, status)
            }
        }
        let times = fresh.compactMap(\.task.scheduledFor)
        let taken = Set(
            try trip.execute(
                "SELECT scheduled_for FROM schedule_fire WHERE schedule_id = ? AND scheduled_for IN (\(TaskStore.placeholders(times.count)))",
                [.string(schedule.scheduleID)] + times.map { .date($0) }
            ).rows.compactMap { $0.date("scheduled_for")?.microseconds }
        )
        if !taken.isEmpty {
            notes.append("\(taken.count) fire time(s) already had their task")
            fresh.removeAll { $0.task.scheduledFor.map { taken.contains($0.microseconds) } ?? false }
        }
        guard !fresh.isEmpty else { return [] }
        let live = try trip.execute(
            "SELECT 1 FROM task_config WHERE task_type = ? AND enabled LOCK IN SHARE MODE", [.string(schedule.taskType)]
        ).rows
        if live.isEmpty {
            notes.append("skipped: task type \(schedule.taskType) is not configured or is disabled")
            return []
        }
        // Superseded only by a fire that creates its task (checked above), in
        // the same transaction: the new task and the cancel commit together.
        if let previous, let task = fresh.first?.task {
            let at = task.scheduledFor.map { ISO8601DateFormatter().string(from: $0) } ?? "now"
            let ended = try TaskStore.cancel(
                [previous.taskID], reason: "cancelled: superseded by the schedule's fire at \(at) (overlap cancel-previous)",
                now: task.createdAt, in: trip
            )
            cancelled = ended.cancelled + ended.dependents
            try TaskStore.appendLogs(
                ended.cancelled.map {
                    TaskLogRecord(
                        taskID: $0.taskID, attempt: $0.attempt, workerID: "", level: "INFO",
                        message: "cancelled by schedule \(schedule.scheduleID): its fire at \(at) superseded it (overlap cancel-previous)",
                        createdAt: task.createdAt
                    )
                },
                in: trip
            )
            notes.append("cancelled the previous task \(previous.taskID), still \(previous.status.wireName) (overlap cancel-previous)")
        }
        return fresh
    }

    private static func insert(_ fresh: [(task: TaskRecord, row: [MySQLValue])], trip: MySQLTrip) throws {
        guard !fresh.isEmpty else { return }
        try TaskStore.takeKeys(of: fresh.map(\.task), in: trip)
        try trip.insertRows(into: "task", columns: TaskStore.columns + ["schedule_id", "scheduled_for"], rows: fresh.map(\.row))
        try trip.insertRows(
            into: "schedule_fire", columns: ["schedule_id", "scheduled_for", "task_id"],
            rows: fresh.map { [MySQLValue($0.task.scheduleID), MySQLValue($0.task.scheduledFor), .string($0.task.taskID)] }
        )
    }

    private static func taskValues(_ task: TaskRecord) -> [MySQLValue] {
        TaskStore.values(task) + [MySQLValue(task.scheduleID), MySQLValue(task.scheduledFor)]
    }

    static func values(_ schedule: ScheduleRecord) -> [MySQLValue] {
        [
            .string(schedule.scheduleID), .string(schedule.tenant), .string(schedule.cron), .string(schedule.timeZone),
            .string(schedule.taskType), .string(StoredPayload.encode(payload: schedule.payload, args: schedule.args)), .int(Int64(schedule.priority.rawValue)),
            .bool(schedule.paused), .int(Int64(schedule.misfire.rawValue)), .int(Int64(schedule.overlap.rawValue)),
            MySQLValue(schedule.timeoutSeconds), MySQLValue(schedule.maxRetries),
            MySQLValue(schedule.nextFireAt), .date(schedule.createdAt), .date(schedule.updatedAt),
        ]
    }

    static func record(_ row: MySQLRow) -> ScheduleRecord {
        let stored = StoredPayload.decode(row.string("payload") ?? "{}")
        return ScheduleRecord(
            scheduleID: row.string("schedule_id") ?? "",
            tenant: row.string("tenant") ?? Tenant.default,
            cron: row.string("cron") ?? "",
            timeZone: row.string("time_zone") ?? "",
            taskType: row.string("task_type") ?? "",
            payload: stored.payload,
            args: stored.args,
            priority: TaskPriority(rawValue: row.int("priority") ?? 0) ?? .normal,
            paused: (row.int("paused") ?? 0) != 0,
            misfire: ScheduleRecord.Misfire(rawValue: row.int("misfire") ?? 0) ?? .runOnce,
            overlap: ScheduleRecord.Overlap(rawValue: row.int("overlap") ?? 0) ?? .allow,
            timeoutSeconds: row.int("timeout_seconds"),
            maxRetries: row.int("max_retries"),
            nextFireAt: row.date("next_fire_at"),
            lastFireAt: row.date("last_fire_at"),
            lastTaskID: row.string("last_task_id"),
            createdAt: row.date("created_at") ?? Date(timeIntervalSince1970: 0),
            updatedAt: row.date("updated_at") ?? Date(timeIntervalSince1970: 0)
        )
    }
}

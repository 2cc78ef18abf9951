import Foundation

/// One row of the `schedule` table: a task template the leader creates at
/// each fire time of its cron expression.
public struct ScheduleRecord: Sendable, Equatable {
    /// What happens to fire times that passed unfired (no leader, the
    /// schedule paused, the cluster down): the contract's `MisfirePolicy`.
    public enum Misfire: Int, Sendable {
        /// One task for them all, then on from now.
        case runOnce = 0
        case skip = 1
        /// A task for each (at most `ScheduleRecord.runAllLimit`).
        case runAll = 2
    }

    /// Whether a fire waits for the schedule's previous task: the
    /// contract's `OverlapPolicy`.
    public enum Overlap: Int, Sendable {
        case allow = 0
        /// No task for a fire time while the previous one is unfinished.
        case skip = 1
        /// The previous task, if unfinished, is cancelled and the fire goes on.
        case cancelPrevious = 2
    }

    /// Missed fire times run at most this many tasks (MISFIRE_RUN_ALL).
    public static let runAllLimit = 100

    public var scheduleID: String
    /// The tenant of the caller that put it: its tasks are that tenant's.
    public var tenant: String
    public var cron: String
    /// IANA name; empty = UTC.
    public var timeZone: String
    public var taskType: String
    public var payload: [String: String]
    /// Typed arguments of its tasks (JSON text of an object), or nil.
    public var args: String?
    public var priority: TaskPriority
    public var paused: Bool
    public var misfire: Misfire
    public var overlap: Overlap
    public var timeoutSeconds: Int?
    public var maxRetries: Int?
    /// The next fire time not yet fired (nil: the expression fires no more).
    public var nextFireAt: Date?
    public var lastFireAt: Date?
    public var lastTaskID: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        scheduleID: String,
        tenant: String = Tenant.default,
        cron: String,
        timeZone: String = "",
        taskType: String,
        payload: [String: String] = [:],
        args: String? = nil,
        priority: TaskPriority = .normal,
        paused: Bool = false,
        misfire: Misfire = .runOnce,
        overlap: Overlap = .allow,
        timeoutSeconds: Int? = nil,
        maxRetries: Int? = nil,
        nextFireAt: Date? = nil,
        lastFireAt: Date? = nil,
        lastTaskID: String? = nil,
        createdAt: Date,
        updatedAt: Date
    ) {
        self.scheduleID = scheduleID
        self.tenant = tenant
        self.cron = cron
        self.timeZone = timeZone
        self.taskType = taskType
        self.payload = payload
        self.args = args
        self.priority = priority
        self.paused = paused
        self.misfire = misfire
        self.overlap = overlap
        self.timeoutSeconds = timeoutSeconds
        self.maxRetries = maxRetries
        self.nextFireAt = nextFireAt
        self.lastFireAt = lastFireAt
        self.lastTaskID = lastTaskID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

extension ScheduleRecord {
    /// The task a fire (or a trigger) creates: the schedule's template, its
    /// type's defaults where the schedule sets none.
    public func task(scheduledFor: Date, config: TaskConfigRecord?, now: Date) -> TaskRecord {
        TaskRecord(
            taskID: TaskID.make(now: now),
            taskType: self.taskType,
            priority: self.priority,
            payload: self.payload,
            args: self.args,
            status: .queued,
            maxRetries: self.maxRetries ?? config?.maxRetries ?? 0,
            timeoutSeconds: self.timeoutSeconds ?? config?.timeoutSeconds ?? 30,
            createdAt: now,
            updatedAt: now,
            tenant: self.tenant,
            scheduleID: self.scheduleID,
            scheduledFor: scheduledFor
        )
    }
}

import BatonModel
import BatonProto
import Foundation
import SwiftProtobuf

/// Records to their wire messages.
extension Baton_V1_Task {
    init(_ task: TaskRecord) {
        self.init()
        self.taskID = task.taskID
        self.taskType = task.taskType
        self.priority = task.priority == .high ? .high : .normal
        self.payload = task.payload
        // Parsed only for a task that has args (its own stored JSON).
        if let args = task.args, let parsed = try? Google_Protobuf_Struct(jsonString: args) { self.args = parsed }
        self.status = Baton_V1_TaskStatus(rawValue: task.status.rawValue) ?? .unspecified
        self.workerID = task.workerID ?? ""
        self.attempt = Int32(clamping: task.attempt)
        self.maxRetries = Int32(clamping: task.maxRetries)
        self.timeoutSeconds = Int32(clamping: task.timeoutSeconds)
        self.result = task.result ?? ""
        self.error = task.error ?? ""
        self.idempotencyKey = task.idempotencyKey ?? ""
        self.createdAt = Google_Protobuf_Timestamp(microseconds: task.createdAt)
        self.updatedAt = Google_Protobuf_Timestamp(microseconds: task.updatedAt)
        if let startedAt = task.startedAt { self.startedAt = Google_Protobuf_Timestamp(microseconds: startedAt) }
        if let finishedAt = task.finishedAt { self.finishedAt = Google_Protobuf_Timestamp(microseconds: finishedAt) }
        if let runAt = task.runAt { self.runAt = Google_Protobuf_Timestamp(microseconds: runAt) }
        self.scheduleID = task.scheduleID ?? ""
        if let scheduledFor = task.scheduledFor { self.scheduledFor = Google_Protobuf_Timestamp(microseconds: scheduledFor) }
        self.dependsOn = task.dependsOn
        self.dependencyResults = task.dependencyResults
        // Shown only in the status they explain: the columns keep their
        // last values once the task moved on (released, retried).
        if task.status == .waiting { self.waitingOn = Int32(clamping: task.waitingOn) }
        if task.status == .cancelled { self.blockedBy = task.blockedBy ?? "" }
    }
}

extension Baton_V1_TaskLog {
    init(_ log: TaskLogRecord) {
        self.init()
        self.id = log.id
        self.taskID = log.taskID
        self.attempt = Int32(clamping: log.attempt)
        self.workerID = log.workerID
        self.level = log.level
        self.message = log.message
        self.createdAt = Google_Protobuf_Timestamp(microseconds: log.createdAt)
    }
}

extension Baton_V1_TaskConfig {
    init(_ config: TaskConfigRecord) {
        self.init()
        self.taskType = config.taskType
        self.executor = config.executor.rawValue
        self.endpoint = config.endpoint
        self.timeoutSeconds = Int32(clamping: config.timeoutSeconds)
        self.maxRetries = Int32(clamping: config.maxRetries)
        self.retryBackoffMs = Int32(clamping: config.retryBackoffMs)
        self.maxConcurrency = Int32(clamping: config.maxConcurrency)
        self.rateLimitPerSecond = Int32(clamping: config.rateLimitPerSecond)
        self.enabled = config.enabled
        self.headers = config.headers
        self.updatedAt = Google_Protobuf_Timestamp(microseconds: config.updatedAt)
        self.paused = config.paused
        self.retentionHours = Int32(clamping: config.retentionHours)
    }
}

extension TaskRecord {
    /// About what the task takes on the wire: its variable fields plus a
    /// generous allowance for the fixed ones (ids, times, numbers, tags).
    var wireBytes: Int {
        var bytes = 256 + self.taskType.utf8.count + (self.result?.utf8.count ?? 0) + (self.error?.utf8.count ?? 0)
            + (self.idempotencyKey?.utf8.count ?? 0) + (self.workerID?.utf8.count ?? 0)
        for (key, value) in self.payload { bytes += key.utf8.count + value.utf8.count + 8 }
        return bytes + (self.args?.utf8.count ?? 0)
    }
}

extension Google_Protobuf_Timestamp {
    /// The stored time to the microsecond, as MySQL keeps it: a Date's
    /// binary fraction would otherwise print as …14.039753914Z.
    public init(microseconds date: Date) {
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        let seconds = (micros / 1_000_000).rounded(.down)
        self.init(seconds: Int64(seconds), nanos: Int32(micros - seconds * 1_000_000) * 1_000)
    }
}

extension Baton_V1_Schedule {
    init(_ schedule: ScheduleRecord) {
        self.init()
        self.scheduleID = schedule.scheduleID
        self.cron = schedule.cron
        self.timeZone = schedule.timeZone
        self.taskType = schedule.taskType
        self.payload = schedule.payload
        if let args = schedule.args, let parsed = try? Google_Protobuf_Struct(jsonString: args) { self.args = parsed }
        self.priority = schedule.priority == .high ? .high : .normal
        self.paused = schedule.paused
        self.misfire = Baton_V1_MisfirePolicy(rawValue: schedule.misfire.rawValue) ?? .misfireRunOnce
        self.overlap = Baton_V1_OverlapPolicy(rawValue: schedule.overlap.rawValue) ?? .overlapAllow
        if let timeout = schedule.timeoutSeconds { self.timeoutSeconds = Int32(clamping: timeout) }
        if let retries = schedule.maxRetries { self.maxRetries = Int32(clamping: retries) }
        if let next = schedule.nextFireAt { self.nextFireAt = Google_Protobuf_Timestamp(microseconds: next) }
        if let last = schedule.lastFireAt { self.lastFireAt = Google_Protobuf_Timestamp(microseconds: last) }
        self.lastTaskID = schedule.lastTaskID ?? ""
        self.updatedAt = Google_Protobuf_Timestamp(microseconds: schedule.updatedAt)
    }
}

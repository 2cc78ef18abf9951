import BatonModel
import Foundation

/// Which tasks a ListTasks page or a bulk operation selects. Empty fields
/// select any.
public struct TaskQuery: Sendable, Equatable {
    public var statuses: [TaskStatus]
    public var taskType: String?
    public var createdAfter: Date?
    public var createdBefore: Date?
    public var workerID: String?
    public var idempotencyKey: String?
    public var oldestFirst: Bool
    /// Only this tenant's tasks; nil for every tenant's (admins).
    public var tenant: String?
    /// Only the tasks this schedule created.
    public var scheduleID: String?
    /// Only the tasks that depend on this task (its dependents).
    public var dependsOn: String?

    public init(
        statuses: [TaskStatus] = [],
        taskType: String? = nil,
        createdAfter: Date? = nil,
        createdBefore: Date? = nil,
        workerID: String? = nil,
        idempotencyKey: String? = nil,
        oldestFirst: Bool = false,
        tenant: String? = nil,
        scheduleID: String? = nil,
        dependsOn: String? = nil
    ) {
        self.statuses = statuses
        self.taskType = taskType
        self.createdAfter = createdAfter
        self.createdBefore = createdBefore
        self.workerID = workerID
        self.idempotencyKey = idempotencyKey
        self.oldestFirst = oldestFirst
        self.tenant = tenant
        self.scheduleID = scheduleID
        self.dependsOn = dependsOn
    }
}

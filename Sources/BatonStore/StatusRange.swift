import BatonModel

/// One tenant's tasks of one status: a range of idx_task_status_tenant.
struct StatusRange: Equatable {
    let tenant: String
    let status: TaskStatus
}

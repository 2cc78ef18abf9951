import BatonModel

/// One tenant's tasks of one status: a range of idx_task_tenant_status_id.
struct StatusRange: Equatable {
    let tenant: String
    let status: TaskStatus
}

import BatonModel

/// One row of the finished counts: a tenant's tasks of one status.
struct TenantStatus: Hashable {
    var tenant: String
    var status: TaskStatus

    init(_ tenant: String, _ status: TaskStatus) {
        self.tenant = tenant
        self.status = status
    }
}

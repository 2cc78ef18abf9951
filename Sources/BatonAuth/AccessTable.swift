/// Every RPC the node serves and who may call it, by fully qualified method
/// name. The gRPC interceptor refuses a method not in it for everyone (deny
/// by default: a new RPC is closed until someone decides who may call it, and
/// a test fails while one is missing); the REST routes take the entry of the
/// RPC they serve, so both APIs ask for the same role.
public enum AccessTable {
    public static let methods: [String: Access] = {
        var table: [String: Access] = [
            "grpc.health.v1.Health/Check": .open,
            "grpc.health.v1.Health/Watch": .open,
            "grpc.reflection.v1.ServerReflection/ServerReflectionInfo": .open,
        ]
        for method in ["GetTask", "ListTasks", "GetTaskLogs", "WatchTask", "GetStats"] {
            table["baton.v1.TaskService/\(method)"] = .role(.viewer)
        }
        for method in ["CreateTask", "BatchCreateTasks", "CancelTask", "RetryTask"] {
            table["baton.v1.TaskService/\(method)"] = .role(.submitter)
        }
        for method in ["BulkCancelTasks", "BulkRetryTasks"] {
            table["baton.v1.TaskService/\(method)"] = .role(.admin)
        }
        for method in [
            "PutTaskConfig", "GetTaskConfig", "ListTaskConfigs", "DeleteTaskConfig", "PauseTaskType", "ResumeTaskType",
            "PutSchedule", "GetSchedule", "ListSchedules", "DeleteSchedule", "TriggerSchedule",
        ] {
            table["baton.v1.AdminService/\(method)"] = .role(.admin)
        }
        return table
    }()
}

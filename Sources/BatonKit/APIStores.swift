import BatonMySQL
import BatonStore

/// The stores client calls read and write, on a pool of their own.
public struct APIStores: Sendable {
    public let tasks: TaskStore
    public let configs: TaskConfigStore
    public let configCache: TaskConfigCache
    public let schedules: ScheduleStore

    public init(mysql: MySQLClient) {
        self.tasks = TaskStore(mysql: mysql)
        self.configs = TaskConfigStore(mysql: mysql)
        self.configCache = TaskConfigCache(store: self.configs)
        self.schedules = ScheduleStore(mysql: mysql)
    }
}

import BatonAuth
import BatonGRPC
import BatonService
import BatonWorker
import BatonBroker
import BatonClient
import BatonKit
import BatonModel
import BatonMySQL
import BatonProto
import BatonRedis
import BatonStore
import BatonTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle

/// One API node in-process on real MySQL and Redis, with a Redis namespace
/// and task types of its own, and a client connected to it.
final class APIHarness: Sendable {
    let mysql: MySQLClient
    private let redis: RedisClient
    let keys: RedisKeys
    let broker: RedisBroker
    /// The broker's state by what it means, and the faults a test makes in it.
    let inspector: BrokerInspector
    let hub = EventHub()
    let server: APIServer
    let taskTypePrefix: String
    private let services: ServiceGroup
    private let logger = Logger(label: "api-test")

    init(
        redisURL: String = TestEnvironment.redisURL, keys: APIKeys? = nil, limits: ValidationLimits = ValidationLimits(), tls: ServerTLS? = nil,
        watchLimits: WatchLimits = WatchLimits(), authenticator: Authenticator? = nil
    ) async throws {
        self.mysql = try MySQLClient(url: TestEnvironment.mysqlURL, logger: self.logger)
        try await MySQLMigrator(directory: TestEnvironment.migrationsDirectory, logger: self.logger).migrate(self.mysql)
        var redisConfiguration = try RedisConfiguration(url: redisURL)
        redisConfiguration.connectTimeout = .milliseconds(500)
        self.redis = RedisClient(configuration: redisConfiguration, logger: self.logger)
        self.keys = RedisKeys(namespace: TestEnvironment.uniqueName("apitest"))
        self.broker = RedisBroker(redis: self.redis, keys: self.keys)
        self.inspector = BrokerInspector(self.broker)
        self.taskTypePrefix = TestEnvironment.uniqueName("t").replacingOccurrences(of: "-", with: "_")

        let stores = APIStores(mysql: self.mysql)
        let probe = HealthProbe(tasks: TaskStore(mysql: self.mysql), broker: self.broker, interval: .milliseconds(100), timeout: .seconds(2), initiallyServing: true, logger: self.logger)
        var server = APIAssembly.Server()
        server.port = 0
        server.tls = tls
        // `authenticator` (keys and tokens) wins over `keys` alone.
        self.server = try APIAssembly(
            nodeID: "test-node", stores: stores, broker: self.broker, hub: self.hub, probe: probe, authenticator: authenticator ?? Authenticator(keys: keys),
            limits: limits, watchLimits: watchLimits, server: server, watchFallback: .milliseconds(200), logger: self.logger
        ).server
        self.services = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: EventStreamReader(broker: self.broker, hub: self.hub, logger: self.logger, pollInterval: .milliseconds(200))),
                    .init(service: ConfigInvalidation(hub: self.hub, cache: stores.configCache)),
                    .init(service: probe),
                    .init(service: self.server),
                ],
                logger: self.logger
            )
        )
        Task { [services] in try await services.run() }
    }

    /// A task type name unique to this harness.
    func taskType(_ name: String) -> String { "\(self.taskTypePrefix)_\(name)" }

    /// Removes the schedules (and their fire records) this harness's names made.
    func deleteSchedules() async throws {
        let like = MySQLValue.string(self.taskType("") + "%")
        try await self.mysql.execute("DELETE FROM schedule_fire WHERE schedule_id LIKE ?", [like])
        try await self.mysql.execute("DELETE FROM schedule WHERE schedule_id LIKE ?", [like])
    }

    /// Configures a local task type through AdminService.
    func configure(_ name: String, enabled: Bool = true, timeout: Int32 = 30, retries: Int32 = 2, apiKey: String? = nil) async throws -> String {
        let type = self.taskType(name)
        try await self.withClient(apiKey: apiKey) { _, admin in
            _ = try await admin.putTaskConfig(
                .with {
                    $0.config = .with {
                        $0.taskType = type
                        $0.executor = "local"
                        $0.timeoutSeconds = timeout
                        $0.maxRetries = retries
                        $0.retryBackoffMs = 100
                        $0.enabled = enabled
                    }
                }
            )
        }
        return type
    }

    func withClient<T: Sendable>(
        apiKey: String? = nil,
        _ body: @Sendable (Baton_V1_TaskService.Client<HTTP2ClientTransport.Posix>, Baton_V1_AdminService.Client<HTTP2ClientTransport.Posix>) async throws -> T
    ) async throws -> T {
        let port = try await self.server.listeningPort()
        return try await withGRPCClient(
            transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext),
            interceptors: apiKey.map { [BearerTokenInterceptor(key: $0)] } ?? []
        ) { client in
            try await body(Baton_V1_TaskService.Client(wrapping: client), Baton_V1_AdminService.Client(wrapping: client))
        }
    }

    func withRawClient<T: Sendable>(_ body: @Sendable (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
        let port = try await self.server.listeningPort()
        return try await withGRPCClient(
            transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext),
            handleClient: body
        )
    }

    /// Removes every row and key this harness made, then stops it.
    func shutdown() async throws {
        let like = self.taskTypePrefix + "\\_%"
        try await self.mysql.execute(
            "DELETE FROM task_logs WHERE task_id IN (SELECT task_id FROM task WHERE task_type LIKE ?)", [.string(like)]
        )
        try await self.mysql.execute("DELETE FROM task_idempotency WHERE task_type LIKE ?", [.string(like)])
        try await self.mysql.execute("DELETE FROM task WHERE task_type LIKE ?", [.string(like)])
        try await self.mysql.execute("DELETE FROM task_config WHERE task_type LIKE ?", [.string(like)])
        try await self.inspector.deleteNamespace()
        await self.services.triggerGracefulShutdown()
        try await self.redis.shutdown()
        try await self.mysql.shutdown()
    }
}

extension APIHarness {
    /// The status a call failed with; nil when it succeeded.
    static func code(_ body: () async throws -> Void) async -> RPCError.Code? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return error.code
        } catch {
            return .unknown
        }
    }
}

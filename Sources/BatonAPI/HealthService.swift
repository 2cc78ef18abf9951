import BatonBroker
import BatonMySQL
import BatonProto
import GRPCCore

/// `grpc.health.v1.Health`: SERVING only while MySQL and Redis answer.
public struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
    let mysql: MySQLClient
    let broker: RedisBroker
    let watchInterval: Duration

    static let knownServices: Set<String> = ["", "baton.v1.TaskService", "baton.v1.AdminService", "grpc.health.v1.Health"]

    public init(mysql: MySQLClient, broker: RedisBroker, watchInterval: Duration = .seconds(1)) {
        self.mysql = mysql
        self.broker = broker
        self.watchInterval = watchInterval
    }

    public func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard Self.knownServices.contains(request.service) else {
            throw RPCError(code: .notFound, message: "unknown service \(request.service)")
        }
        let serving = await self.status()
        return .with { $0.status = .init(serving) }
    }

    public func watch(
        request: Grpc_Health_V1_HealthCheckRequest,
        response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        guard Self.knownServices.contains(request.service) else {
            try await response.write(.with { $0.status = .serviceUnknown })
            return
        }
        var last: Grpc_Health_V1_HealthCheckResponse.ServingStatus?
        while !Task.isCancelled && !context.cancellation.isCancelled {
            let status = Grpc_Health_V1_HealthCheckResponse.ServingStatus(await self.status())
            if status != last {
                try await response.write(.with { $0.status = status })
                last = status
            }
            try await Task.sleep(for: self.watchInterval)
        }
    }

    /// True when both stores answer.
    public func status() async -> Bool {
        async let mysql = self.mysql.ping()
        async let redis = self.broker.ping()
        let (mysqlUp, redisUp) = await (mysql, redis)
        return mysqlUp && redisUp
    }
}

extension Grpc_Health_V1_HealthCheckResponse.ServingStatus {
    init(_ serving: Bool) {
        self = serving ? .serving : .notServing
    }
}

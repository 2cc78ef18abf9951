import BatonModel
import BatonProto
import BatonService
import GRPCCore
import ServiceLifecycle

/// `grpc.health.v1.Health`: SERVING only while MySQL and Redis answer, as the
/// node's `HealthProbe` last found. Calls never reach the stores; Watch
/// streams wait for the probe's changes, at most `maxWatchers` at once.
public struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
    let probe: HealthProbe
    let watchers: Slots

    static let knownServices: Set<String> = ["", "baton.v1.TaskService", "baton.v1.AdminService", "grpc.health.v1.Health"]

    public init(probe: HealthProbe, maxWatchers: Int = 10_000) {
        self.probe = probe
        self.watchers = Slots(limit: maxWatchers)
    }

    public func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard Self.knownServices.contains(request.service) else {
            throw RPCError(code: .notFound, message: "unknown service \(request.service)")
        }
        return .with { $0.status = .init(self.probe.serving) }
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
        guard self.watchers.take() else {
            throw RPCError(code: .resourceExhausted, message: "too many health watchers on this node (\(self.watchers.limit)); use Check")
        }
        defer { self.watchers.give() }
        // Ends when the call is cancelled (the stream's iteration does), or
        // when the node stops: it does not wait on thousands of open streams.
        try await cancelWhenGracefulShutdown {
            var last: Bool?
            for await serving in self.probe.updates() where serving != last {
                try await response.write(.with { $0.status = .init(serving) })
                last = serving
            }
        }
    }
}

extension Grpc_Health_V1_HealthCheckResponse.ServingStatus {
    init(_ serving: Bool) {
        self = serving ? .serving : .notServing
    }
}

import ArgumentParser
import BatonGRPC
import BatonHTTP
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The wire-limit flags checked and turned into the servers' settings.
extension NodeOptions {
    func validateWireLimits() throws {
        if let cap = self.grpcMaxConnections, cap < 1 { throw ValidationError("--grpc-max-connections must be at least 1") }
        let positive: [(String, Double)] = [
            ("--grpc-handshake-timeout", self.grpcHandshakeTimeout), ("--grpc-idle-timeout", self.grpcIdleTimeout),
            ("--grpc-keepalive-time", self.grpcKeepaliveTime), ("--grpc-keepalive-timeout", self.grpcKeepaliveTimeout),
            ("--http-header-timeout", self.httpHeaderTimeout), ("--http-body-timeout", self.httpBodyTimeout),
            ("--http-idle-timeout", self.httpIdleTimeout),
        ]
        for (flag, value) in positive where !(value > 0) { throw ValidationError("\(flag) must be positive") }
        let nonNegative: [(String, Double)] = [
            ("--grpc-max-connection-age", self.grpcMaxConnectionAge), ("--grpc-max-connection-age-grace", self.grpcMaxConnectionAgeGrace),
            ("--grpc-min-client-ping-interval", self.grpcMinClientPingInterval),
        ]
        for (flag, value) in nonNegative where !(value >= 0) { throw ValidationError("\(flag) must not be negative") }
        guard self.grpcMaxStreams >= 1 else { throw ValidationError("--grpc-max-streams must be at least 1") }
        guard (1024...(1 << 30)).contains(self.grpcMaxRequestBytes) else { throw ValidationError("--grpc-max-request-bytes must be between 1024 and 1073741824") }
        guard self.httpMaxConnections >= 1 else { throw ValidationError("--http-max-connections must be at least 1") }
        guard self.healthProbeIntervalMs >= 10 else { throw ValidationError("--health-probe-interval-ms must be at least 10") }
        guard self.healthProbeTimeoutMs >= 10 else { throw ValidationError("--health-probe-timeout-ms must be at least 10") }
        guard self.healthMaxWatchers >= 0 else { throw ValidationError("--health-max-watchers must not be negative") }
    }

    var grpcLimits: GRPCLimits {
        var limits = GRPCLimits()
        limits.maxConnections = self.grpcMaxConnections ?? Self.defaultMaxConnections()
        limits.handshakeTimeout = .seconds(self.grpcHandshakeTimeout)
        limits.idleTimeout = .seconds(self.grpcIdleTimeout)
        limits.maxConnectionAge = self.grpcMaxConnectionAge > 0 ? .seconds(self.grpcMaxConnectionAge) : nil
        limits.maxConnectionAgeGrace = .seconds(self.grpcMaxConnectionAgeGrace)
        limits.keepaliveTime = .seconds(self.grpcKeepaliveTime)
        limits.keepaliveTimeout = .seconds(self.grpcKeepaliveTimeout)
        limits.minClientPingInterval = .seconds(self.grpcMinClientPingInterval)
        limits.clientPingsWithoutCalls = self.grpcClientPingsWithoutCalls
        limits.maxConcurrentStreams = self.grpcMaxStreams
        limits.maxRequestBytes = self.grpcMaxRequestBytes
        return limits
    }

    var httpLimits: HTTPLimits {
        var limits = HTTPLimits()
        limits.maxConnections = self.httpMaxConnections
        limits.headerTimeout = .seconds(self.httpHeaderTimeout)
        limits.bodyTimeout = .seconds(self.httpBodyTimeout)
        limits.idleTimeout = .seconds(self.httpIdleTimeout)
        return limits
    }

    /// Half the open-files limit (the rest is for the pools, HTTP, executors
    /// and logs), at most 10,000: a flood of sockets must never leave the node
    /// without descriptors for its own connections.
    static func defaultMaxConnections() -> Int {
        var limit = rlimit()
        // RLIM_INFINITY (all ones) is far above 20,000 and falls to the 10,000 ceiling.
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 10_000 }
        return max(16, Int(min(10_000, limit.rlim_cur / 2)))
    }
}

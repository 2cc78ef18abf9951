import ArgumentParser
import BatonGRPC
import BatonKit
import BatonMySQL
import BatonRedis
import BatonService
import BatonWorker
import Foundation

/// The flags turned into the assembly's settings: values only, every check
/// a flag needs done here or in `validate()`.
extension NodeOptions {
    func settings() throws -> NodeSettings {
        var mysql: MySQLConfiguration
        var redis: RedisConfiguration
        do {
            mysql = try MySQLConfiguration(url: self.mysqlURL)
            redis = try RedisConfiguration(url: self.redisURL)
            // Secrets may live in files (mounted secrets) rather than URLs.
            if let path = self.mysqlPasswordFile { mysql.password = try Self.secret(path) }
            if let path = self.redisPasswordFile { redis.password = try Self.secret(path) }
        } catch {
            throw ValidationError("\(error)")
        }
        var settings = NodeSettings(nodeID: self.nodeID, redis: redis, mysql: mysql, migrations: self.migrations.map { URL(fileURLWithPath: $0) })
        settings.roles = try self.nodeRoles
        settings.namespace = self.namespace
        settings.allowEvictingRedis = self.allowEvictingRedis
        settings.apiMySQLConnections = self.apiMySQLConnections
        settings.apiRedisConnections = self.apiRedisConnections
        settings.poolAcquireTimeout = .milliseconds(self.poolAcquireTimeoutMs)
        settings.heartbeatInterval = .seconds(self.heartbeatInterval)
        settings.heartbeatTTL = .seconds(self.heartbeatTTL)

        settings.election.lockTTL = .seconds(self.lockTTL)
        settings.election.renewInterval = .seconds(self.renewInterval)
        settings.leaderLoops.dispatcher.batchSize = self.dispatchBatch
        settings.leaderLoops.dispatcher.strategy = self.dispatchStrategy.strategy
        settings.leaderLoops.dispatcher.weights = try self.weights
        settings.leaderLoops.dispatcher.highReserve = self.highReserve
        settings.leaderLoops.dispatcher.heartbeatTTL = .seconds(self.heartbeatTTL)
        settings.leaderLoops.dispatcher.scheduledDelay = .milliseconds(self.scheduledMarkDelayMs)
        settings.leaderLoops.retention.defaultHours = self.retentionHours
        settings.leaderLoops.deadWorkers.heartbeatTTL = .seconds(self.heartbeatTTL)
        settings.leaderLoops.deadWorkers.maxWorkerLosses = self.maxWorkerLosses

        settings.worker.capacity = self.capacity
        settings.worker.maxWindow = self.maxWindow
        settings.worker.taskTypes = self.taskTypes.split(separator: ",").map(String.init)
        settings.worker.heartbeatInterval = .seconds(self.heartbeatInterval)
        settings.worker.heartbeatTTL = .seconds(self.heartbeatTTL)
        settings.worker.gracePeriod = .seconds(self.gracePeriod)
        // A replicated Redis may lose an unreplicated take's claim in a failover.
        let replicated = redis.sentinel != nil || redis.cluster != nil
        settings.worker.startWriteAfter = .milliseconds(self.startWriteAfterMs ?? (replicated ? 0 : 250))
        settings.worker.quietLogWindow = .milliseconds(self.quietLogWindowMs)
        settings.leaderLoops.restoreDelay = .seconds(self.heartbeatTTL)

        settings.limits = try self.limits
        settings.executorCAFile = self.executorCaFile
        settings.tracing = self.otelEndpoint.map(TracingSettings.init(endpoint:))
        settings.host = self.host
        settings.grpcPort = self.grpcPort
        settings.httpPort = self.workerPort
        settings.tls = self.tlsCert.map { ServerTLS(certificatePath: $0, keyPath: self.tlsKey ?? "", clientCAPath: self.tlsCaCert) }
        settings.grpcLimits = self.grpcLimits
        settings.httpLimits = self.httpLimits
        settings.healthProbeInterval = .milliseconds(self.healthProbeIntervalMs)
        settings.healthProbeTimeout = .milliseconds(self.healthProbeTimeoutMs)
        settings.healthMaxWatchers = self.healthMaxWatchers
        settings.watchLimits = WatchLimits(perNode: self.maxWatches, perKey: self.maxWatchesPerKey)
        return settings
    }

    private static func secret(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

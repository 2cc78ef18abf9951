import ArgumentParser
import BatonBroker
import BatonConfig
import BatonKit
import BatonModel
import BatonScheduler
import Foundation
import Logging

/// Every flag of `baton-node`.
struct NodeOptions: ParsableArguments {
    @Option(help: "This node's id (used in GetStats, worker ids and logs); one live node per id. Default: the host name.")
    var id: String?

    @Option(help: "What this node runs, comma-separated: api (gRPC, REST, dashboard), scheduler (competes to lead), worker (runs tasks).")
    var roles = "api,scheduler,worker"

    @Option(help: """
        Address the gRPC and HTTP servers bind to. Off loopback (not 127.0.0.0/8, ::1 nor localhost) an API node needs \
        credentials and gRPC TLS, or --allow-open-api and --allow-plaintext.
        """)
    var host = "127.0.0.1"

    @Option(help: "gRPC port (TaskService, AdminService, health, reflection).")
    var grpcPort = 9090

    @Option(help: "HTTP port for /health, /ready and /metrics.")
    var workerPort = 8080

    @Option(
        help: """
            Redis URL, redis://[:password@]host:port[/db], or through Sentinel \
            sentinel://[:password@]host:port,host:port/mastername[?db=N&sentinel_password=…], \
            or a Redis Cluster redis-cluster://[:password@]host:port,host:port (docs/redis.md); \
            over TLS rediss://… or sentinels://… with ?ca=/path&cert=/path&key=/path&server_name=name (all optional); \
            $REDIS_ADDR works too. Default: redis://127.0.0.1:6379.
            """
    )
    var redis: String?

    @Option(help: "MySQL URL, mysql://user:password@host:port/database; $MYSQL_DSN works too. Default: the dev database.")
    var mysql: String?

    @Option(help: "File holding the Redis password (overrides the URL's).")
    var redisPasswordFile: String?

    @Option(help: "File holding the MySQL password (overrides the URL's).")
    var mysqlPasswordFile: String?

    @Option(
        name: [.customLong("redis-namespace"), .customLong("namespace")],
        help: """
            Namespace of this cluster's Redis keys: every key is {<namespace>}:…, one Redis Cluster slot (docs/redis.md). \
            --namespace is its older name.
            """
    )
    var namespace = "baton"

    @Option(help: "Folder of SQL migrations (NNN_name.sql) to apply at start instead of those built into the binary.")
    var migrations: String?

    @Option(help: "Executor calls this node's worker makes at once (a slot frees when the call returns).")
    var capacity = 10

    @Option(help: "Most tasks this node's worker holds, queued or in flight (default 32 × capacity; it asks for less when tasks are slow).")
    var maxWindow: Int?

    @Option(help: "Task types this node's worker runs, comma-separated (default: every type it can run: http and grpc types, and local types whose handler it registered).")
    var taskTypes = ""

    @Option(help: "Seconds between worker heartbeats.")
    var heartbeatInterval = 3.0

    @Option(help: "Seconds without a heartbeat after which a worker counts as dead.")
    var heartbeatTTL = 9.0

    @Option(help: "Milliseconds a task runs before its start is written to MySQL; a shorter one has only its outcome written (0: every start written before it runs; default 250, and 0 with a sentinel:// or redis-cluster:// Redis, whose failover may lose a claim).")
    var startWriteAfterMs: Int?

    @Option(help: "Milliseconds a task runs before its \"started\" log line is written; a task that succeeds sooner writes no log lines (its row says when and where it ran).")
    var quietLogWindowMs = 1000

    @Option(help: "Milliseconds after its dispatch a task still waiting on a worker's queue reads SCHEDULED.")
    var scheduledMarkDelayMs = 500

    @Option(help: "Seconds the leader lock lives without renewal.")
    var lockTTL = 10.0

    @Option(help: "Seconds between leader lock renewals.")
    var renewInterval = 3.0

    @Option(help: "Tasks the dispatcher moves per cycle.")
    var dispatchBatch = 100

    @Option(help: "Worker choice: least_task, round_robin or random.")
    var dispatchStrategy: DispatchStrategyArgument = .leastTask

    @Option(help: "Weighted priority as HIGH:NORMAL (e.g. 8:2); empty means strict high-before-normal.")
    var priorityWeights = ""

    @Option(help: "Hours finished tasks (and their logs) are kept when their type does not say; 0 keeps them for ever.")
    var retentionHours = 168

    @Option(help: "Percent of each worker's capacity normal tasks leave free for high-priority ones (0-50).")
    var highReserve = 0

    @Option(help: "Seconds a graceful stop waits for running tasks before handing them back.")
    var gracePeriod = 30.0

    @Option(help: "Worker losses after which a task fails.")
    var maxWorkerLosses = 3

    @Flag(help: "Run on a Redis whose maxmemory-policy evicts keys (queues could vanish silently under memory pressure).")
    var allowEvictingRedis = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Option(help: "Log format: text or json.")
    var logFormat = "text"

    @Option(help: "Folder of the node's log files.")
    var logDir = "logs"

    @Option(help: """
        API keys file: lines `<key-id> <role> <key|sha256:hex> [<tenant>]` (role admin, submitter or viewer; tenant `default` \
        when absent). Re-read on SIGHUP and when it changes. Without one (nor JWTs) the node runs open, which off loopback \
        needs --allow-open-api.
        """)
    var apiKeysFile: String?

    @Flag(name: .customLong("allow-open-api"), help: "Serve the API without API keys nor JWTs on a non-loopback --host (refused by default: anyone reaching it could use it).")
    var allowOpenAPI = false

    @Flag(help: "Accept an API keys file (or --jwt-hs256-secret-file) that group or others may read (refused by default: its keys are secrets).")
    var allowReadableKeyFile = false

    // JWT bearer tokens, beside or instead of API keys (NodeOptions+JWT.swift).

    @Option(help: """
        Accept JWTs signed with HS256 by the secret in this file (at least 32 bytes; a trailing newline is not part of it). \
        Re-read on SIGHUP and when it changes.
        """)
    var jwtHs256SecretFile: String?

    @Option(help: """
        Accept JWTs signed by the private half of this public key (PEM): RSA → RS256, EC P-256 → ES256. \
        Re-read on SIGHUP and when it changes.
        """)
    var jwtPublicKeyFile: String?

    @Option(help: "JWT claim naming the caller's role: admin, submitter or viewer. Default: role.")
    var jwtRoleClaim: String?

    @Option(help: "JWT claim naming the caller's tenant (required: a token without it is refused). Default: tenant.")
    var jwtTenantClaim: String?

    @Option(help: "Issuer (iss) a JWT must name. Default: any.")
    var jwtIssuer: String?

    @Option(help: "Audience a JWT's aud must include. Default: any.")
    var jwtAudience: String?

    @Option(help: """
        Seconds a JWT still passes after its exp (and before its nbf), checked on the cluster's clock (Redis TIME). Default: 30.
        """)
    var jwtLeewaySeconds: Int?

    @Option(help: "TLS certificate (PEM) the gRPC server offers; with --tls-key turns TLS on.")
    var tlsCert: String?

    @Option(help: "TLS private key (PEM) of --tls-cert.")
    var tlsKey: String?

    @Option(help: "CA (PEM) for mutual TLS: only clients with a certificate it signed connect.")
    var tlsCaCert: String?

    @Flag(help: "Serve gRPC without TLS on a non-loopback --host (refused by default: keys and payloads would cross the network in clear).")
    var allowPlaintext = false

    @Option(help: """
        Where http and grpc executors may connect, comma-separated: host names, addresses and CIDR blocks, each with an \
        optional port (api.internal,api.internal:8443,10.0.0.0/8,[::1]:9000). Checked by every worker at call time on the \
        resolved address. Default: anywhere but link-local and metadata addresses, which need an explicit address or CIDR entry.
        """)
    var executorAllowHosts = ""

    @Option(help: "CA certificates (PEM) trusted for https:// and grpcs:// executor endpoints, instead of the system's roots.")
    var executorCaFile: String?

    @Option(help: """
        Send spans (API calls, dispatch rounds, attempts) over OTLP/HTTP to this receiver, e.g. http://collector:4318 \
        (to /v1/traces under it, or to the URL as given when it has a path); OTEL_* variables tune the exporter. \
        Default: no tracing.
        """)
    var otelEndpoint: String?

    @Option(help: "Largest payload in bytes.")
    var maxPayloadBytes = 1 << 20

    @Option(help: "Most items in one BatchCreateTasks.")
    var maxBatchSize = 1000

    @Option(help: "Longest task timeout in seconds.")
    var maxTimeoutSeconds = 86_400

    @Option(help: "Most retries a task may ask for.")
    var maxRetries = 100

    @Option(help: "Bytes of tasks (payloads, results, errors) or log lines one list page carries at most; a page always holds one.")
    var maxPageBytes = 3 << 20

    @Option(name: .customLong("api-mysql-connections"), help: "MySQL connections for client calls; the cluster's own work keeps 16 of its own.")
    var apiMySQLConnections = 16

    @Option(
        name: .customLong("api-redis-connections"),
        help: "Redis connections for client calls; the cluster's own work keeps 16 of its own, and heartbeats and the leader lock 2 more."
    )
    var apiRedisConnections = 16

    @Option(help: "Milliseconds a client call waits for a free MySQL or Redis connection before it is answered UNAVAILABLE.")
    var poolAcquireTimeoutMs = 2000

    @Option(help: "Most watches open on this node: WatchTask streams, task event streams and creates waiting on wait_seconds.")
    var maxWatches = 10_000

    @Option(help: "Most watches one API key holds open on this node (a node without keys has only --max-watches).")
    var maxWatchesPerKey = 1_000

    // Wire limits: what one client may hold of this node (docs/security.md → Limits).

    @Option(help: "Most gRPC connections open at once; at the cap a new one replaces the oldest still in its handshake, else is closed (default: half the open-files limit, at most 10000).")
    var grpcMaxConnections: Int?

    @Option(help: "Seconds a gRPC connection has to finish its TLS handshake and send the HTTP/2 preface.")
    var grpcHandshakeTimeout = 10.0

    @Option(help: "Seconds without an RPC after which a gRPC connection is sent GOAWAY.")
    var grpcIdleTimeout = 300.0

    @Option(help: "Seconds after which a gRPC connection is sent GOAWAY whatever it does (0: never).")
    var grpcMaxConnectionAge = 3600.0

    @Option(help: "Seconds the RPCs of a connection past its age (or idle) GOAWAY get to finish before it is closed.")
    var grpcMaxConnectionAgeGrace = 60.0

    @Option(help: "Seconds a gRPC connection may be quiet before the server pings it.")
    var grpcKeepaliveTime = 60.0

    @Option(help: "Seconds a client has to answer the server's ping; a connection that has sent nothing for keepalive time + timeout is closed.")
    var grpcKeepaliveTimeout = 20.0

    @Option(help: "Shortest interval between a client's pings; closer pings count as strikes and too many close the connection.")
    var grpcMinClientPingInterval = 10.0

    @Flag(inversion: .prefixedNo, help: "Accept client keepalive pings on a connection with no RPC open.")
    var grpcClientPingsWithoutCalls = true

    @Option(help: "Concurrent RPCs (HTTP/2 streams) per gRPC connection.")
    var grpcMaxStreams = 100

    @Option(help: """
        Largest gRPC request message in bytes; a larger one is answered RESOURCE_EXHAUSTED naming this limit \
        (up to 4 MiB past it; beyond, the transport resets the stream).
        """)
    var grpcMaxRequestBytes = 4 << 20

    @Option(help: "Most HTTP (/health, /ready, /metrics) connections open at once; more are closed on accept.")
    var httpMaxConnections = 64

    @Option(help: "Seconds an HTTP client has to send a request's headers (from connect, or from its first byte on a kept-alive connection).")
    var httpHeaderTimeout = 10.0

    @Option(help: "Seconds an HTTP client has to send a request's body after its headers.")
    var httpBodyTimeout = 10.0

    @Option(help: "Seconds a kept-alive HTTP connection may wait for its next request.")
    var httpIdleTimeout = 30.0

    @Option(help: "Milliseconds between the background MySQL and Redis health probes that health Check, Watch and /ready read.")
    var healthProbeIntervalMs = 1000

    @Option(help: "Milliseconds a health probe may take; health is NOT_SERVING while a probe is this late.")
    var healthProbeTimeoutMs = 2000

    @Option(help: "Most health Watch streams open on this node; more are refused with RESOURCE_EXHAUSTED.")
    var healthMaxWatchers = 10_000

    mutating func validate() throws {
        guard (1...65535).contains(self.grpcPort) else { throw ValidationError("--grpc-port must be 1-65535") }
        guard (1...65535).contains(self.workerPort) else { throw ValidationError("--worker-port must be 1-65535") }
        guard self.capacity >= 1 else { throw ValidationError("--capacity must be at least 1") }
        if let problem = RedisKeys.problem(namespace: self.namespace) { throw ValidationError("--redis-namespace: \(problem)") }
        if let maxWindow = self.maxWindow, maxWindow <= self.capacity { throw ValidationError("--max-window must exceed --capacity") }
        // The restore after a Redis data loss waits one TTL for the starts still unwritten.
        guard (self.startWriteAfterMs ?? 0) >= 0, Double(self.startWriteAfterMs ?? 0) <= self.heartbeatTTL * 500 else {
            throw ValidationError("--start-write-after-ms must be between 0 and half of --heartbeat-ttl")
        }
        guard self.heartbeatInterval > 0, self.heartbeatTTL > self.heartbeatInterval else {
            throw ValidationError("--heartbeat-ttl must exceed --heartbeat-interval, both positive")
        }
        guard self.renewInterval > 0, self.lockTTL > self.renewInterval else {
            throw ValidationError("--lock-ttl must exceed --renew-interval, both positive")
        }
        guard self.quietLogWindowMs >= 0 else { throw ValidationError("--quiet-log-window-ms must not be negative") }
        guard self.scheduledMarkDelayMs >= 0 else { throw ValidationError("--scheduled-mark-delay-ms must not be negative") }
        guard self.dispatchBatch >= 1 else { throw ValidationError("--dispatch-batch must be at least 1") }
        guard self.gracePeriod >= 0 else { throw ValidationError("--grace-period must not be negative") }
        guard self.maxWorkerLosses >= 1 else { throw ValidationError("--max-worker-losses must be at least 1") }
        guard ["text", "json"].contains(self.logFormat) else { throw ValidationError("--log-format must be text or json") }
        guard self.parsedLogLevel != nil else { throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical") }
        _ = try self.weights
        guard self.retentionHours >= 0 else { throw ValidationError("--retention-hours must not be negative") }
        guard (0...50).contains(self.highReserve) else { throw ValidationError("--high-reserve must be between 0 and 50") }
        guard self.apiMySQLConnections >= 1, self.apiRedisConnections >= 1 else {
            throw ValidationError("--api-mysql-connections and --api-redis-connections must be at least 1")
        }
        guard self.maxPageBytes >= 4096 else { throw ValidationError("--max-page-bytes must be at least 4096") }
        guard self.poolAcquireTimeoutMs >= 1 else { throw ValidationError("--pool-acquire-timeout-ms must be at least 1") }
        guard self.maxWatches >= 1, self.maxWatchesPerKey >= 1 else { throw ValidationError("--max-watches and --max-watches-per-key must be at least 1") }
        guard (self.tlsCert == nil) == (self.tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard self.tlsCaCert == nil || self.tlsCert != nil else { throw ValidationError("--tls-ca-cert needs --tls-cert and --tls-key") }
        _ = try self.executorAllowList
        if let endpoint = self.otelEndpoint, !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
            throw ValidationError("--otel-endpoint must be an http:// or https:// URL (an OTLP/HTTP receiver)")
        }
        if let path = self.executorCaFile, !FileManager.default.isReadableFile(atPath: path) {
            throw ValidationError("--executor-ca-file: cannot read \(path)")
        }
        try self.validateWireLimits()
        guard ValidationLimits().isValidTaskType(self.nodeID) else {
            throw ValidationError("--id must match \(ValidationLimits().taskTypeRule)\(self.id == nil ? " (the host name \(self.nodeID) does not: pass --id)" : "")")
        }
        let refusals = try self.exposure.refusals
        guard refusals.isEmpty else { throw ValidationError(refusals.joined(separator: "; also ")) }
    }

    /// What `ExposureRule` needs to judge `--host`; throws on bad `--roles`.
    var exposure: ExposureRule {
        get throws {
            ExposureRule(
                host: self.host, servesAPI: try self.nodeRoles.contains(.api),
                authenticates: self.apiKeysFile != nil || self.jwtHs256SecretFile != nil || self.jwtPublicKeyFile != nil,
                encrypts: self.tlsCert != nil, allowOpenAPI: self.allowOpenAPI, allowPlaintext: self.allowPlaintext
            )
        }
    }

    /// `--id`, else the host name: one node per machine needs no flag.
    var nodeID: String { self.id ?? NodeIncarnation.hostName() }

    var nodeRoles: NodeRoles {
        get throws {
            do {
                return try NodeRoles(parsing: self.roles)
            } catch {
                throw ValidationError("--roles: \(error.description)")
            }
        }
    }

    var weights: (high: Int, normal: Int) {
        get throws {
            if self.priorityWeights.isEmpty { return (0, 0) }
            let parts = self.priorityWeights.split(separator: ":")
            guard parts.count == 2, let high = Int(parts[0]), let normal = Int(parts[1]), high > 0, normal > 0 else {
                throw ValidationError("--priority-weights must look like 8:2")
            }
            return (high, normal)
        }
    }

    var parsedLogLevel: Logger.Level? { Logger.Level(rawValue: self.logLevel) }

    // Variables (REDIS_ADDR, MYSQL_DSN, BATON_*) and the --config file arrive
    // as flags (`configurationTable`): nothing here reads the environment
    // but the dev database's password.

    var redisURL: String {
        self.redis ?? "redis://127.0.0.1:6379"
    }

    var mysqlURL: String {
        self.mysql ?? "mysql://baton:\(Self.environment("BATON_MYSQL_PASSWORD") ?? "baton-dev-password")@127.0.0.1:3306/baton"
    }

    /// Every flag as a file key and a variable, from the flags' declarations.
    static let configurationTable = ConfigurationTable(NodeOptions.self, environmentAliases: ["redis": ["REDIS_ADDR"], "mysql": ["MYSQL_DSN"]])

    /// Defaults that are not constants, for --print-config.
    var computedDefaults: [String: String] {
        ["id": self.nodeID, "redis": self.redisURL, "mysql": self.mysqlURL]
    }

    var executorAllowList: ExecutorAllowList {
        get throws {
            do {
                return try ExecutorAllowList(parsing: self.executorAllowHosts)
            } catch {
                throw ValidationError("--executor-allow-hosts: \(error)")
            }
        }
    }

    var limits: ValidationLimits {
        get throws {
            var limits = ValidationLimits()
            limits.maxPayloadBytes = self.maxPayloadBytes
            limits.maxBatchSize = self.maxBatchSize
            limits.maxTimeoutSeconds = self.maxTimeoutSeconds
            limits.maxRetries = self.maxRetries
            limits.maxPageBytes = self.maxPageBytes
            limits.executorAllowList = try self.executorAllowList
            return limits
        }
    }
}

enum DispatchStrategyArgument: String, ExpressibleByArgument, CaseIterable {
    case leastTask = "least_task"
    case roundRobin = "round_robin"
    case random

    var strategy: DispatchStrategy { DispatchStrategy(rawValue: self.rawValue)! }
}

extension NodeOptions {
    /// A variable's value; unset and empty are the same (no value).
    static func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}

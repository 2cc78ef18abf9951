import BatonModel
import BatonProto
import Foundation

/// Checks a task type's configuration before it is stored.
struct TaskConfigValidator: Sendable {
    var limits: ValidationLimits

    func record(from config: Baton_V1_TaskConfig, now: Date) throws(RPCErrorBox) -> TaskConfigRecord {
        guard self.limits.isValidTaskType(config.taskType) else {
            throw RPCErrorBox("config.task_type must match \(self.limits.taskTypeRule)")
        }
        guard let executor = TaskConfigRecord.Executor(rawValue: config.executor) else {
            throw RPCErrorBox("config.executor must be one of local, http, grpc")
        }
        guard config.endpoint.utf8.count <= self.limits.maxEndpointBytes else {
            throw RPCErrorBox("config.endpoint is longer than \(self.limits.maxEndpointBytes) bytes")
        }
        switch executor {
        case .local:
            guard config.endpoint.isEmpty || self.limits.isValidTaskType(config.endpoint) else {
                throw RPCErrorBox("config.endpoint of a local executor must name a handler ([A-Za-z0-9_.:-]) or be empty")
            }
        case .http:
            guard Self.isHTTPURL(config.endpoint) else {
                throw RPCErrorBox("config.endpoint must be an absolute http:// or https:// URL")
            }
        case .grpc:
            guard ExecutorTarget.grpc(config.endpoint) != nil else {
                throw RPCErrorBox("config.endpoint must be host:port, grpc://host:port or grpcs://host:port (TLS)")
            }
        }
        // An early answer only: every worker checks again at call time, on the
        // address the name resolves to (a config may reach the store another way).
        if let target = ExecutorTarget.of(config.endpoint, executor: executor),
            !self.limits.executorAllowList.mayPermit(host: target.host, port: target.port)
        {
            throw RPCErrorBox("config.endpoint is outside this cluster's executor allow-list (link-local and metadata addresses need an explicit entry)")
        }
        guard (1...self.limits.maxTimeoutSeconds).contains(Int(config.timeoutSeconds)) else {
            throw RPCErrorBox("config.timeout_seconds must be 1-\(self.limits.maxTimeoutSeconds)")
        }
        guard (0...self.limits.maxRetries).contains(Int(config.maxRetries)) else {
            throw RPCErrorBox("config.max_retries must be 0-\(self.limits.maxRetries)")
        }
        guard (0...self.limits.maxRetryBackoffMs).contains(Int(config.retryBackoffMs)) else {
            throw RPCErrorBox("config.retry_backoff_ms must be 0-\(self.limits.maxRetryBackoffMs)")
        }
        guard (0...self.limits.maxConcurrency).contains(Int(config.maxConcurrency)) else {
            throw RPCErrorBox("config.max_concurrency must be 0-\(self.limits.maxConcurrency)")
        }
        guard (0...self.limits.maxRateLimitPerSecond).contains(Int(config.rateLimitPerSecond)) else {
            throw RPCErrorBox("config.rate_limit_per_second must be 0-\(self.limits.maxRateLimitPerSecond)")
        }
        guard (0...87_600).contains(Int(config.retentionHours)) else {
            throw RPCErrorBox("config.retention_hours must be 0-87600 (0: the cluster's default)")
        }
        guard config.headers.count <= self.limits.maxHeaders else {
            throw RPCErrorBox("config.headers holds more than \(self.limits.maxHeaders) entries")
        }
        for (name, value) in config.headers {
            guard Self.isHeaderName(name) else { throw RPCErrorBox("config.headers has an invalid header name") }
            guard !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw RPCErrorBox("config.headers[\(name)] contains a line break")
            }
        }
        return TaskConfigRecord(
            taskType: config.taskType,
            executor: executor,
            endpoint: config.endpoint,
            timeoutSeconds: Int(config.timeoutSeconds),
            maxRetries: Int(config.maxRetries),
            retryBackoffMs: Int(config.retryBackoffMs),
            maxConcurrency: Int(config.maxConcurrency),
            rateLimitPerSecond: Int(config.rateLimitPerSecond),
            enabled: config.enabled,
            headers: config.headers,
            updatedAt: now,
            retentionHours: Int(config.retentionHours)
        )
    }

    static func isHTTPURL(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty, url.user == nil
        else { return false }
        return !text.contains(where: \.isWhitespace)
    }

    /// RFC 9110 token characters.
    static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 256
            && name.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "!#$%&'*+-.^_`|~".unicodeScalars.contains(scalar))
            }
    }
}

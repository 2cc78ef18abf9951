/// Limits on what clients may submit; every one can be changed by a flag.
public struct ValidationLimits: Sendable {
    public var maxTaskTypeLength = 64
    public var maxPayloadBytes = 1 << 20
    public var maxPayloadKeys = 1024
    public var maxPayloadKeyBytes = 256
    public var maxTimeoutSeconds = 86_400
    public var maxRetries = 100
    public var maxRunAtAheadSeconds = 366 * 86_400
    public var maxCancelReasonBytes = 1024
    public var maxIdempotencyKeyBytes = 255
    public var maxBatchSize = 1000
    /// Entries of one task's `depends_on` (a fan-in of this many parents).
    public var maxDependsOn = 1000
    public var maxPageSize = 1000
    public var defaultPageSize = 100
    /// Bytes of task fields (payload, result, error…) one list page may
    /// carry, below gRPC's default 4 MiB message limit.
    public var maxPageBytes = 3 << 20
    public var maxEndpointBytes = 2048
    public var maxHeaders = 64
    public var maxRetryBackoffMs = 3_600_000
    public var maxConcurrency = 1_000_000
    public var maxRateLimitPerSecond = 1_000_000
    /// Where http and grpc executors may connect. A config write is checked
    /// against it early (`mayPermit`); every worker enforces it at call time.
    public var executorAllowList = ExecutorAllowList.unrestricted

    public init() {}

    /// The task type rule, as error messages state it.
    public var taskTypeRule: String { "[A-Za-z0-9_.:-]{1,\(self.maxTaskTypeLength)}" }

    /// `[A-Za-z0-9_.:-]{1,max}`
    public func isValidTaskType(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard !utf8.isEmpty, utf8.count <= self.maxTaskTypeLength else { return false }
        return utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-")
        }
    }
}

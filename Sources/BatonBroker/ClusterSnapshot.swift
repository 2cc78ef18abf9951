import Foundation

/// What Redis knows about the cluster right now (GetStats).
public struct ClusterSnapshot: Sendable {
    public struct Worker: Sendable {
        public var workerID: String
        public var nodeID: String
        public var capacity: Int
        public var running: Int
        public var queued: Int
        public var taskTypes: [String]
        /// What it advertises it can run (`ExecutorCapability`): `@http`,
        /// `@grpc` and its local handlers; empty: everything (an older release).
        public var executors: [String]
        public var lastHeartbeat: Date?
    }

    /// A configured type no live worker runs: its tasks wait until one does.
    public struct UnservedType: Sendable, Equatable {
        public var taskType: String
        /// Its entries the dispatcher set aside (parked) until a worker runs
        /// it; those it has not reached yet (beyond its look-ahead) are not counted.
        public var parked: Int64
    }

    public var leaderNodeID: String
    public var leaderEpoch: Int64
    public var queueHigh: Int64
    public var queueNormal: Int64
    public var queueDelayed: Int64
    public var scheduledTotal: Int64
    public var workers: [Worker]
    public var unservedTypes: [UnservedType]
}

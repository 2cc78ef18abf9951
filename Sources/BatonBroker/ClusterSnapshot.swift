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
        public var lastHeartbeat: Date?
    }

    public var leaderNodeID: String
    public var leaderEpoch: Int64
    public var queueHigh: Int64
    public var queueNormal: Int64
    public var queueDelayed: Int64
    public var scheduledTotal: Int64
    public var workers: [Worker]
}

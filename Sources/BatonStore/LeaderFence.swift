import BatonMySQL

/// A leader's term as MySQL knows it: a write carrying it applies only while
/// `epoch` is the newest epoch recorded for `cluster` (no later leader took office).
public struct LeaderFence: Sendable, Equatable {
    public var cluster: String
    public var epoch: Int64

    public init(cluster: String, epoch: Int64) {
        self.cluster = cluster
        self.epoch = epoch
    }

    /// The condition to AND into a fenced statement, and its values.
    static let condition = "EXISTS (SELECT 1 FROM leader_epoch WHERE cluster = ? AND epoch = ?)"

    var values: [MySQLValue] { [.string(self.cluster), .int(self.epoch)] }
}

import BatonMySQL
import Foundation

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

/// The leader epoch's high-water mark per cluster.
public struct LeaderEpochStore: Sendable {
    public let mysql: MySQLClient

    public init(mysql: MySQLClient) {
        self.mysql = mysql
    }

    /// Records that `epoch` took office; returns the high-water mark after,
    /// which exceeds `epoch` when Redis lost its data and its epoch restarted.
    public func record(cluster: String, epoch: Int64, now: Date) async throws -> Int64 {
        try await self.mysql.execute(
            """
            INSERT INTO leader_epoch (cluster, epoch, updated_at) VALUES (?, ?, ?)
            ON DUPLICATE KEY UPDATE updated_at = IF(VALUES(epoch) > epoch, VALUES(updated_at), updated_at), epoch = GREATEST(epoch, VALUES(epoch))
            """,
            [.string(cluster), .int(epoch), .date(now)]
        )
        return try await self.mysql.query("SELECT epoch FROM leader_epoch WHERE cluster = ?", [.string(cluster)])
            .first?.int64("epoch") ?? epoch
    }
}

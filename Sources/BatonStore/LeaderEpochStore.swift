import BatonMySQL
import Foundation

/// The leader epoch's high-water mark per cluster.
public struct LeaderEpochStore: Sendable {
    let mysql: StoreMySQL

    public init(mysql: MySQLClient) {
        self.mysql = StoreMySQL(client: mysql)
    }

    /// Records `epoch` as the cluster's newest; false when an epoch as high
    /// was recorded before (Redis lost its data and its counter restarted).
    public func claim(cluster: String, epoch: Int64, now: Date) async throws -> Bool {
        let raised = try await self.mysql.execute(
            "UPDATE leader_epoch SET epoch = ?, updated_at = ? WHERE cluster = ? AND epoch < ?",
            [.int(epoch), .date(now), .string(cluster), .int(epoch)]
        )
        if raised.affectedRows == 1 { return true }
        let inserted = try await self.mysql.execute(
            "INSERT IGNORE INTO leader_epoch (cluster, epoch, updated_at) VALUES (?, ?, ?)", [.string(cluster), .int(epoch), .date(now)]
        )
        return inserted.affectedRows == 1
    }

    /// The highest epoch recorded for `cluster` (0 when none).
    public func highest(cluster: String) async throws -> Int64 {
        try await self.mysql.query("SELECT epoch FROM leader_epoch WHERE cluster = ?", [.string(cluster)]).first?.int64("epoch") ?? 0
    }
}

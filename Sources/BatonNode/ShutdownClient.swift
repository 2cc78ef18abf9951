import BatonMySQL
import BatonRedis

/// A client whose pool the node closes when it stops.
protocol ShutdownClient: Sendable {
    func shutdown() async throws
}

extension MySQLClient: ShutdownClient {}
extension RedisClient: ShutdownClient {}

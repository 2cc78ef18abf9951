import BatonClient
import Foundation

/// What a client submitting through a failover saw: the tasks the node
/// acknowledged (each a promise), the calls it refused (no promise made:
/// UNAVAILABLE while there is no master) and how many it acknowledged after
/// the kill.
struct FailoverLoad {
    var acknowledged: [String] = []
    var refused: [ContinuousClock.Instant] = []
    var afterKill = 0

    /// How long after the kill the node refused calls.
    func refusedFor(killedAt: ContinuousClock.Instant) -> Duration {
        self.refused.last.map { $0 - killedAt } ?? .zero
    }

    /// Submits a task of `type` every 50 ms until `end`.
    static func run(port: Int, type: String, until end: ContinuousClock.Instant, killedAt: ContinuousClock.Instant) async throws -> FailoverLoad {
        try await withBatonClient(host: "127.0.0.1", port: port) { client in
            var load = FailoverLoad()
            while ContinuousClock.now < end {
                do {
                    let task = try await client.createTask(type: type, payload: ["n": "\(load.acknowledged.count)"])
                    load.acknowledged.append(task.taskID)
                    if ContinuousClock.now > killedAt { load.afterKill += 1 }
                } catch {
                    load.refused.append(.now)
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            return load
        }
    }
}

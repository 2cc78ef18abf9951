import Foundation

/// A worker's claim on a task it took (`RedisKeys.claims`): which worker
/// runs it, at which generation, since when. While an attempt is younger
/// than the deferred-start window its row still reads waiting; the claim is
/// what says it runs (docs/deferred-start.md).
public struct AttemptClaim: Sendable, Equatable {
    public var generation: Int
    public var workerID: String
    public var startedAt: Date

    public init(generation: Int, workerID: String, startedAt: Date) {
        self.generation = generation
        self.workerID = workerID
        self.startedAt = startedAt
    }

    /// `<generation>|<worker>|<ms>`; nil for anything else (an empty reply).
    public init?(value: String) {
        let parts = value.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 3, let generation = Int(parts[0]), let ms = Int64(parts[2]), !parts[1].isEmpty else { return nil }
        self.init(generation: generation, workerID: String(parts[1]), startedAt: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}

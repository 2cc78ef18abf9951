import BatonModel
import Foundation
import Synchronization

/// Task types as most recently read from MySQL. An entry is reused for at
/// most `maxAge` (so a change is in force everywhere within that time even
/// if its notification is lost) and dropped at once by `invalidate`.
public final class TaskConfigCache: Sendable {
    private struct Entry {
        var config: TaskConfigRecord?
        var loadedAt: ContinuousClock.Instant
    }

    private let store: TaskConfigStore
    private let maxAge: Duration
    private let entries = Mutex<[String: Entry]>([:])

    public init(store: TaskConfigStore, maxAge: Duration = .seconds(3)) {
        self.store = store
        self.maxAge = maxAge
    }

    /// The type's configuration, or nil when it is not configured.
    public func config(_ taskType: String) async throws -> TaskConfigRecord? {
        let now = ContinuousClock.now
        if let entry = self.entries.withLock({ $0[taskType] }), now - entry.loadedAt < self.maxAge {
            return entry.config
        }
        let config = try await self.store.config(taskType)
        self.entries.withLock { $0[taskType] = Entry(config: config, loadedAt: now) }
        return config
    }

    public func invalidate(_ taskType: String) {
        _ = self.entries.withLock { $0.removeValue(forKey: taskType) }
    }

    public func store(_ config: TaskConfigRecord) {
        self.entries.withLock { $0[config.taskType] = Entry(config: config, loadedAt: .now) }
    }
}

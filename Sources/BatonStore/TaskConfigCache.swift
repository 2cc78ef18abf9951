import BatonModel
import Foundation
import Synchronization

/// Task types as most recently read from MySQL. An entry is reused for at
/// most `maxAge` (so a change is in force everywhere within that time even
/// if its notification is lost) and dropped at once by `invalidate`. At most
/// `maxEntries` are kept: a client naming endless unknown types (each
/// remembered as "not configured") cannot grow it without bound.
public final class TaskConfigCache: Sendable {
    private struct Entry {
        var config: TaskConfigRecord?
        var loadedAt: ContinuousClock.Instant
    }

    private let load: @Sendable (String) async throws -> TaskConfigRecord?
    private let maxAge: Duration
    private let maxEntries: Int
    private let entries = Mutex<[String: Entry]>([:])

    public convenience init(store: TaskConfigStore, maxAge: Duration = .seconds(3), maxEntries: Int = 10_000) {
        self.init(maxAge: maxAge, maxEntries: maxEntries) { try await store.config($0) }
    }

    /// A cache that reads a type with `load` (an in-memory store's, in tests
    /// without MySQL).
    public init(maxAge: Duration = .seconds(3), maxEntries: Int = 10_000, load: @escaping @Sendable (String) async throws -> TaskConfigRecord?) {
        self.load = load
        self.maxAge = maxAge
        self.maxEntries = max(1, maxEntries)
    }

    var count: Int { self.entries.withLock { $0.count } }

    /// The type's configuration, or nil when it is not configured.
    public func config(_ taskType: String) async throws -> TaskConfigRecord? {
        let now = ContinuousClock.now
        if let entry = self.entries.withLock({ $0[taskType] }), now - entry.loadedAt < self.maxAge {
            return entry.config
        }
        let config = try await self.load(taskType)
        self.keep(Entry(config: config, loadedAt: now), for: taskType)
        return config
    }

    /// Full: expired entries go first, then unknown types, then everything
    /// (the next reads load what is in use again).
    private func keep(_ entry: Entry, for taskType: String) {
        self.entries.withLock { entries in
            if entries[taskType] == nil && entries.count >= self.maxEntries {
                let now = ContinuousClock.now
                entries = entries.filter { now - $0.value.loadedAt < self.maxAge }
                if entries.count >= self.maxEntries { entries = entries.filter { $0.value.config != nil } }
                if entries.count >= self.maxEntries { entries.removeAll(keepingCapacity: true) }
            }
            entries[taskType] = entry
        }
    }

    public func invalidate(_ taskType: String) {
        _ = self.entries.withLock { $0.removeValue(forKey: taskType) }
    }

    public func store(_ config: TaskConfigRecord) {
        self.keep(Entry(config: config, loadedAt: .now), for: config.taskType)
    }
}

import Synchronization

/// Fans cluster events out to in-process listeners (task watchers, the
/// worker's cancel listener, config caches). Fed by `EventStreamReader`.
public final class EventHub: Sendable {
    private struct Listener {
        var accepts: @Sendable (ClusterEvent) -> Bool
        var continuation: AsyncStream<ClusterEvent>.Continuation
    }

    private let listeners = Mutex<[Int: Listener]>([:])
    private let nextID = Atomic<Int>(0)

    public init() {}

    /// Events that pass `filter`, until the stream is dropped. Buffers a
    /// bounded number so a slow listener cannot hold up the others.
    public func subscribe(
        bufferingNewest limit: Int = 256,
        where filter: @escaping @Sendable (ClusterEvent) -> Bool
    ) -> AsyncStream<ClusterEvent> {
        let id = self.nextID.wrappingAdd(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream.makeStream(of: ClusterEvent.self, bufferingPolicy: .bufferingNewest(limit))
        continuation.onTermination = { [weak self] _ in
            _ = self?.listeners.withLock { $0.removeValue(forKey: id) }
        }
        self.listeners.withLock { $0[id] = Listener(accepts: filter, continuation: continuation) }
        return stream
    }

    /// Changes to one task.
    public func taskChanges(_ taskID: String) -> AsyncStream<ClusterEvent> {
        self.subscribe { event in
            if case .taskChanged(let id) = event { return id == taskID }
            return false
        }
    }

    public func deliver(_ event: ClusterEvent) {
        let targets = self.listeners.withLock { listeners in
            listeners.values.filter { $0.accepts(event) }.map(\.continuation)
        }
        for continuation in targets { continuation.yield(event) }
    }

    public var listenerCount: Int { self.listeners.withLock { $0.count } }
}

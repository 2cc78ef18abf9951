import BatonBroker
import BatonStore
import ServiceLifecycle

/// Drops a task type from this node's config cache when another node
/// announces a change, so the change is in force here at once.
public struct ConfigInvalidation: Service {
    let hub: EventHub
    let cache: TaskConfigCache

    public init(hub: EventHub, cache: TaskConfigCache) {
        self.hub = hub
        self.cache = cache
    }

    public func run() async throws {
        let changes = self.hub.subscribe { event in
            if case .configChanged = event { return true }
            return false
        }
        await cancelWhenGracefulShutdown {
            for await case .configChanged(let taskType) in changes {
                self.cache.invalidate(taskType)
            }
        }
    }
}

import BatonBroker
import BatonModel
import Foundation
import Logging
import ServiceLifecycle

/// Registers the worker and refreshes its entry every `heartbeatInterval`
/// (capacity, window, types, executors, draining), stamped by Redis's clock; what it runs and
/// holds is read from its lists, never from a beat; the entry expires after
/// `heartbeatTTL` without a beat, so the leader can tell a dead worker.
///
/// Registering takes over the node: a previous incarnation of this node's
/// worker (the process crashed and was restarted at once) is declared dead
/// on the spot, so the leader gives its tasks back without waiting for its
/// heartbeat to expire. After a Redis outage the next beat registers again.
/// A beat refused because the leader declared this worker dead calls
/// `fenced` and ends with `WorkerFenced`. Deregisters on a graceful stop when the worker holds nothing.
public struct WorkerHeartbeat: Service {
    private let broker: any WorkerBroker
    private let configuration: WorkerConfiguration
    private let draining: @Sendable () -> Bool
    private let window: @Sendable () -> Int
    private let capabilities: @Sendable () -> [String]
    private let fenced: @Sendable () -> Void
    private let logger: Logger

    init(
        broker: any WorkerBroker, configuration: WorkerConfiguration, draining: @escaping @Sendable () -> Bool,
        window: @escaping @Sendable () -> Int, capabilities: @escaping @Sendable () -> [String], fenced: @escaping @Sendable () -> Void,
        logger: Logger
    ) {
        self.broker = broker
        self.configuration = configuration
        self.draining = draining
        self.window = window
        self.capabilities = capabilities
        self.fenced = fenced
        self.logger = logger
    }

    public func run() async throws {
        let retired = await cancelWhenGracefulShutdown { () -> Bool in
            var registered = false
            var healthy = true
            while !Task.isCancelled {
                do {
                    if !registered {
                        if let previous = try await self.broker.registerWorker(nodeID: self.configuration.nodeID, workerID: self.configuration.workerID) {
                            self.logger.warning(
                                "previous worker of this node declared dead; the leader requeues what it held",
                                metadata: ["previous": "\(previous)", "worker_id": "\(self.configuration.workerID)"]
                            )
                        }
                        registered = true
                    }
                    if try await !self.beat() {
                        self.fenced()
                        return true
                    }
                    if !healthy { self.logger.info("heartbeat restored") }
                    healthy = true
                } catch {
                    if healthy { self.logger.warning("heartbeat failed", metadata: ["error": "\(error)"]) }
                    healthy = false
                }
                try? await Task.sleep(for: self.configuration.heartbeatInterval)
            }
            return false
        }
        if retired { throw WorkerFenced(workerID: self.configuration.workerID) }
        do {
            if try await !self.broker.deregisterWorker(nodeID: self.configuration.nodeID, workerID: self.configuration.workerID) {
                self.logger.warning("worker still holds tasks it could not settle; the leader recovers them once its heartbeat expires")
            }
        } catch {
            self.logger.warning("could not deregister; the leader recovers this worker once its heartbeat expires", metadata: ["error": "\(error)"])
        }
    }

    /// One heartbeat; false when this worker was declared dead.
    public func beat() async throws -> Bool {
        try await self.broker.heartbeat(
            workerID: self.configuration.workerID,
            ttl: self.configuration.heartbeatTTL,
            registration: WorkerRegistration(
                nodeID: self.configuration.nodeID,
                capacity: self.configuration.capacity,
                window: self.window(),
                // Both narrow: the dispatcher sends a task only to a worker
                // whose `types` allow its type and whose `executors` hold
                // what its type's executor needs (`ExecutorCapability`).
                taskTypes: self.configuration.taskTypes,
                executors: self.capabilities(),
                draining: self.draining()
            )
        )
    }
}

import BatonKit
import BatonTestSupport
import BatonWorker
import ServiceLifecycle
import XCTest

extension WorkerHarness {
    /// Another worker on the harness's cluster, with `registry`'s local
    /// handlers (the built-ins by default), running once this returns
    /// (its first heartbeat is in).
    func anotherWorker(nodeID: String, workerID: String, capacity: Int, registry: ExecutorRegistry = ExecutorRegistry()) async throws -> RunningWorker {
        let base = self.base
        var configuration = WorkerConfiguration(nodeID: nodeID, workerID: workerID)
        configuration.capacity = capacity
        configuration.heartbeatInterval = .milliseconds(500)
        configuration.pollTimeout = .milliseconds(300)
        configuration.gracePeriod = .milliseconds(300)
        let parts = WorkerAssembly(
            configuration: configuration, broker: base.broker, tasks: base.tasks, configs: self.cache, registry: registry, logger: base.logger
        )
        let group = ServiceGroup(services: parts.services, logger: base.logger)
        let running = Task { _ = try? await group.run() }
        let registered = try await TestEnvironment.waitUntil {
            try await base.inspector.score(of: workerID, in: .workers) != nil
        }
        XCTAssertTrue(registered)
        return RunningWorker(parts: parts, group: group, task: running)
    }
}

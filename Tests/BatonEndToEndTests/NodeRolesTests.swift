import BatonBroker
import BatonClient
import BatonProto
import BatonRedis
import BatonTestSupport
import Foundation
import Logging
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// `--roles`: real nodes of one cluster, each running part of a node.
final class NodeRolesTests: XCTestCase {
    /// An API-only node, a worker-only node and a scheduler-only node make a
    /// working cluster: tasks submitted through the API node run on the
    /// worker node; the worker node opens no gRPC port (but keeps /health,
    /// /ready, /metrics, and no REST); only the scheduler node ever leads.
    func testAnAPINodeAWorkerNodeAndASchedulerNodeMakeACluster() async throws {
        let namespace = TestEnvironment.uniqueName("rolestest")
        let api = try WireNode(namespace: namespace, arguments: ["--roles", "api"])
        defer { api.stop() }
        let worker = try WireNode(namespace: namespace, arguments: ["--roles", "worker"])
        defer { worker.stop() }
        let scheduler = try WireNode(namespace: namespace, arguments: ["--roles", "scheduler"])
        var schedulerStopped = false
        defer { if !schedulerStopped { scheduler.stop() } }
        for node in [api, worker, scheduler] { try await node.waitReady() }

        // The worker-only node: no gRPC listener, HTTP for probes only.
        XCTAssertEqual(WireNode.connectSocket(port: worker.grpcPort), -1, "a worker-only node listens on no gRPC port")
        XCTAssertTrue(try WireNode.httpGet(port: worker.httpPort, path: "/health").hasPrefix("HTTP/1.1 200"))
        XCTAssertTrue(try WireNode.httpGet(port: worker.httpPort, path: "/metrics").hasPrefix("HTTP/1.1 200"))
        XCTAssertTrue(try WireNode.httpGet(port: worker.httpPort, path: "/api/v1/tasks").hasPrefix("HTTP/1.1 404"), "no REST on a worker-only node")
        XCTAssertEqual(WireNode.connectSocket(port: scheduler.grpcPort), -1, "nor on a scheduler-only node")

        let (schedulerID, workerID) = (scheduler.id, worker.id)
        try await withBatonClient(host: "127.0.0.1", port: api.grpcPort) { client in
            // Leadership needs a heartbeat or two to settle.
            let led = try await TestEnvironment.waitUntil(timeout: .seconds(15), every: .milliseconds(200)) {
                try await client.stats().leaderNodeID == schedulerID
            }
            XCTAssertTrue(led, "the scheduler node leads")
            var tasks: [Baton_V1_Task] = []
            for index in 0..<5 { tasks.append(try await client.createTask(type: "echo", payload: ["n": "\(index)"])) }
            for task in tasks {
                let done = try await client.waitForTask(task.taskID, timeout: .seconds(30))
                XCTAssertEqual(done.status, .succeeded)
                XCTAssertTrue(done.workerID.hasPrefix("\(workerID)-worker-"), "ran on the worker node, not \(done.workerID)")
            }
            let stats = try await client.stats()
            XCTAssertEqual(stats.workers.map(\.nodeID), [workerID], "the API and scheduler nodes register no worker")
        }

        // Without the scheduler node nobody leads: neither of the others competes for the lock.
        scheduler.stop()
        schedulerStopped = true
        try await Task.sleep(for: .seconds(4))
        let leader = try await withBatonClient(host: "127.0.0.1", port: api.grpcPort) { try await $0.stats().leaderNodeID }
        XCTAssertEqual(leader, "", "a node without the scheduler role never leads")
    }

    /// A second live node with a running node's id is refused, naming the
    /// id, and changes nothing of the first; the first keeps its worker.
    func testASecondLiveNodeWithTheSameIDIsRefused() async throws {
        let namespace = TestEnvironment.uniqueName("dupidtest")
        let first = try WireNode(namespace: namespace)
        defer { first.stop() }
        try await first.waitReady()
        let second = try WireNode(id: first.id, namespace: namespace)
        defer { second.stop() }
        let code = try await second.exitCode(within: .seconds(20))
        XCTAssertEqual(code, 1, "refused with exit code 1; log:\n\(second.log.suffix(2000))")
        let output = try String(contentsOf: second.logs.appendingPathComponent("stdout.log"), encoding: .utf8)
        XCTAssertTrue(output.contains("node id \(first.id) is held by a live node (pid \(first.pid)"), output)
        XCTAssertTrue(output.contains("--id"), "says how to pick another id: \(output)")
        XCTAssertTrue(first.isRunning)
        let stats = try await withBatonClient(host: "127.0.0.1", port: first.grpcPort) { try await $0.stats() }
        XCTAssertEqual(stats.workers.map(\.nodeID), [first.id], "the first node's worker is still the one registered")
        XCTAssertFalse(first.log.contains("previous worker of this node declared dead"))
    }

    /// The same node killed (-9) and started again at once with its command
    /// line rejoins without waiting for its old claim's TTL: its previous
    /// process is dead, which this machine can tell.
    func testTheSameNodeRestartedAtOnceAfterKill9Starts() async throws {
        let namespace = TestEnvironment.uniqueName("restarttest")
        let first = try WireNode(namespace: namespace, arguments: ["--heartbeat-ttl", "30"])
        defer { first.stop() }
        try await first.waitReady()
        first.crash()
        let started = ContinuousClock.now
        let again = try WireNode(id: first.id, namespace: namespace, arguments: ["--heartbeat-ttl", "30"])
        defer { again.stop() }
        try await again.waitReady(timeout: .seconds(20))
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(20), "did not wait out the 30 s TTL of the dead process's claim")
        XCTAssertTrue(again.log.contains("this node's previous process is gone; taking its id over"), again.log.suffix(3000).description)
    }

    /// A claim from a process on another machine (which /proc cannot judge)
    /// is waited out when its holder lets it lapse, and refused when the
    /// holder refreshes it meanwhile.
    func testAClaimFromAnotherMachineIsWaitedOutUnlessRefreshed() async throws {
        let namespace = TestEnvironment.uniqueName("remoteidtest")
        let redis = try RedisClient(url: TestEnvironment.redisURL, logger: Logger(label: "test"))
        let inspector = BrokerInspector(RedisBroker(redis: redis, keys: RedisKeys(namespace: namespace)))
        let foreign = "elsewhere 00000000-boot pid:[1] 4242 100 n0nce"

        let lapsing = TestEnvironment.uniqueName("lapsing")
        try await inspector.claimNodeID(lapsing, as: foreign, ttl: .seconds(3))
        let node = try WireNode(id: lapsing, namespace: namespace)
        defer { node.stop() }
        try await node.waitReady(timeout: .seconds(20))
        XCTAssertTrue(node.log.contains("waiting for its claim to lapse"), node.log.suffix(3000).description)

        let refreshed = TestEnvironment.uniqueName("refreshed")
        try await inspector.claimNodeID(refreshed, as: foreign, ttl: .seconds(3))
        let holder = Task {
            while !Task.isCancelled {
                try? await inspector.claimNodeID(refreshed, as: foreign, ttl: .seconds(3))
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        let refused = try WireNode(id: refreshed, namespace: namespace)
        defer { refused.stop() }
        let code = try await refused.exitCode(within: .seconds(20))
        holder.cancel()
        _ = await holder.value
        XCTAssertEqual(code, 1, "refused; log:\n\(refused.log.suffix(2000))")
        let output = try String(contentsOf: refused.logs.appendingPathComponent("stdout.log"), encoding: .utf8)
        XCTAssertTrue(output.contains("node id \(refreshed) is held by a live node (pid 4242 on elsewhere)"), output)
        try await inspector.releaseNodeIDs(refreshed, lapsing)
        try await redis.shutdown()
    }
}

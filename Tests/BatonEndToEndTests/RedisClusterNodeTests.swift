import BatonBroker
import BatonClient
import BatonProto
import BatonTestSupport
import Foundation
import Logging
import XCTest

/// Real `baton-node`s on `--redis redis-cluster://…` (3 masters, 3
/// replicas): two namespaces (two Baton clusters, each with its own MySQL)
/// share the Redis Cluster, each in the slot of its hash tag on a different
/// master. The master of the first namespace's slot is killed under load:
/// its replica takes over, the node follows MOVED, and every task it
/// acknowledged, before and after, runs to SUCCEEDED, none lost and none
/// run twice (no worker died); the second namespace is not disturbed.
final class RedisClusterNodeTests: XCTestCase {
    private let servers = ClusterServers()

    override func setUp() async throws {
        try self.servers.start()
    }

    override func tearDown() async throws {
        try self.servers.stop()
    }

    func testTwoNamespacesShareAClusterAndOneFollowsAFailoverLosingNoTask() async throws {
        let service = CountingService(logger: Logger(label: "cluster-service"))
        let endpoint = try await service.start()

        // Two namespaces whose slots live on different masters.
        let first = TestEnvironment.uniqueName("clusterA")
        let firstMaster = try XCTUnwrap(try self.servers.ownerPort(namespace: first))
        var second = TestEnvironment.uniqueName("clusterB")
        while try self.servers.ownerPort(namespace: second) == firstMaster { second = TestEnvironment.uniqueName("clusterB") }

        let nodeA = try WireNode(namespace: first, redisURL: self.servers.url)
        let nodeB = try WireNode(namespace: second, redisURL: self.servers.url, arguments: ["--mysql", try Self.secondDatabase()])
        var stopped = false
        defer { if !stopped { nodeA.stop(); nodeB.stop() } }
        try await nodeA.waitReady()
        try await nodeB.waitReady()
        let type = "cluster_\(nodeA.id.suffix(8))".replacingOccurrences(of: "-", with: "_")
        for node in [nodeA, nodeB] { try await node.putHTTPType(type, endpoint: endpoint) }

        // One task every 50 ms into each namespace for 12 s; A's master dies after 3 s.
        let killedAt = ContinuousClock.now + .seconds(3)
        let end = killedAt + .seconds(9)
        let killer = Task { [servers] in
            try await Task.sleep(until: killedAt)
            return try servers.killOwner(namespace: first)
        }
        let (portA, portB) = (nodeA.grpcPort, nodeB.grpcPort)
        async let loadA = FailoverLoad.run(port: portA, type: type, until: end, killedAt: killedAt)
        async let loadB = FailoverLoad.run(port: portB, type: type, until: end, killedAt: killedAt)
        let (a, b) = try await (loadA, loadB)
        let killed = try await killer.value
        XCTAssertEqual(killed, firstMaster)
        XCTAssertNotEqual(try self.servers.ownerPort(namespace: first), firstMaster, "the replica took the slot over")
        XCTAssertGreaterThan(a.afterKill, 40, "the node takes tasks again after the failover (\(a.refused.count) refused during it)")
        XCTAssertEqual(b.refused.count, 0, "the other namespace's master served throughout")
        let resumedAfter = a.refusedFor(killedAt: killedAt)

        // Every acknowledged task ends SUCCEEDED, once.
        var lost: [String: Baton_V1_TaskStatus] = [:]
        for (node, load) in [(nodeA, a), (nodeB, b)] {
            let unfinished = try await withBatonClient(host: "127.0.0.1", port: node.grpcPort) { client in
                var unfinished: [String: Baton_V1_TaskStatus] = [:]
                for id in load.acknowledged {
                    let status = try await client.waitForTask(id, timeout: .seconds(60)).status
                    if status != .succeeded { unfinished[id] = status }
                }
                _ = try await client.admin.deleteTaskConfig(.with { $0.taskType = type })
                return unfinished
            }
            lost.merge(unfinished) { $1 }
        }
        XCTAssertEqual(lost, [:], "not SUCCEEDED")
        let counts = service.executions
        let neverRan = (a.acknowledged + b.acknowledged).filter { counts[$0, default: 0] == 0 }
        XCTAssertEqual(neverRan, [], "succeeded without the service seeing them?")
        let twice = counts.filter { $0.value > 1 }
        XCTAssertEqual(twice, [:], "run more than once although no worker died")
        print(
            "redis cluster failover: namespace A \(a.acknowledged.count) tasks acknowledged (\(a.afterKill) after the kill), "
                + "\(a.refused.count) refused until \(resumedAfter) after the kill; namespace B \(b.acknowledged.count) acknowledged, "
                + "\(b.refused.count) refused; lost \(lost.count + neverRan.count), run twice \(twice.count)"
        )
        await service.stop()

        let logA = nodeA.stop().log
        let logB = nodeB.stop().log
        stopped = true
        for line in logA.split(separator: "\n") where ["Redis Cluster", "became leader", "leadership"].contains(where: { line.contains($0) }) {
            print("node A: \(line.prefix(300))")
        }
        XCTAssertTrue(logA.contains("Redis Cluster master of this namespace's slot found"), String(logA.suffix(3000)))
        XCTAssertTrue(logA.contains("Redis Cluster slot moved"), String(logA.suffix(3000)))
        XCTAssertFalse(logB.contains("Redis Cluster slot moved"), "B's slot stayed where it was")
        XCTAssertFalse((logA + logB).contains(ClusterServers.password), "the password is never logged")
    }

    /// The second Baton cluster's own MySQL database (two clusters never
    /// share one: each reconciles every task it finds): the test database's
    /// name with `_b`, created through the root account as the first was.
    private static func secondDatabase() throws -> String {
        let url = TestEnvironment.mysqlURL
        let name = String(url.split(separator: "/").last ?? "baton_test").split(separator: "?").first.map(String.init) ?? "baton_test"
        let database = name + "_b"
        let sql = "CREATE DATABASE IF NOT EXISTS \(database) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin; "
            + "GRANT ALL PRIVILEGES ON \(database).* TO 'baton'@'127.0.0.1', 'baton'@'localhost';"
        let status = try ChildProcess.run("/bin/sh", ["-c", "mysql -uroot -h127.0.0.1 -e \"$0\" || sudo -n mysql -e \"$0\"", sql], environment: ProcessInfo.processInfo.environment)
        guard status == 0 else { throw TestEnvironment.ScriptError(description: "could not create the MySQL database \(database) as root") }
        return url.replacingOccurrences(of: "/\(name)", with: "/\(database)")
    }
}

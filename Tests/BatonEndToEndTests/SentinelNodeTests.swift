import BatonClient
import BatonProto
import BatonTestSupport
import Foundation
import Logging
import XCTest

/// A real `baton-node` on `--redis sentinel://…` while the Redis master is
/// killed under load: the node follows the failover and every task it
/// acknowledged, before and after, runs to SUCCEEDED, none lost and none run
/// twice (no worker died: at-least-once allows no duplicate here).
final class SentinelNodeTests: XCTestCase {
    private let servers = SentinelServers()

    override func setUp() async throws {
        do { try self.servers.start() } catch let missing as SentinelServers.NotInstalled { throw XCTSkip(missing.description) }
    }

    override func tearDown() async throws {
        try self.servers.stop()
    }

    func testANodeFollowsAFailoverAndLosesNoTask() async throws {
        let service = CountingService(logger: Logger(label: "sentinel-service"))
        let endpoint = try await service.start()

        let node = try WireNode(redisURL: self.servers.url)
        var stopped = false
        defer { if !stopped { node.stop() } }
        try await node.waitReady()
        let type = "sentinel_\(node.id.suffix(8))".replacingOccurrences(of: "-", with: "_")
        let port = node.grpcPort
        try await node.putHTTPType(type, endpoint: endpoint)

        // One task every 50 ms for 12 s; the master dies after 3 s.
        let killedAt = ContinuousClock.now + .seconds(3)
        let end = killedAt + .seconds(9)
        let killer = Task { [servers] in
            try await Task.sleep(until: killedAt)
            return try servers.killMaster()
        }
        let load = try await FailoverLoad.run(port: port, type: type, until: end, killedAt: killedAt)
        let (acknowledged, refused, acknowledgedAfterKill) = (load.acknowledged, load.refused, load.afterKill)
        let killed = try await killer.value
        XCTAssertNotNil(killed)
        XCTAssertGreaterThan(acknowledgedAfterKill, 40, "the node takes tasks again after the failover (\(refused.count) refused during it)")
        let refusedFor = load.refusedFor(killedAt: killedAt)

        // Every acknowledged task ends SUCCEEDED.
        let statuses = try await withBatonClient(host: "127.0.0.1", port: port) { client in
            var statuses: [String: Baton_V1_TaskStatus] = [:]
            for id in acknowledged {
                statuses[id] = try await client.waitForTask(id, timeout: .seconds(60)).status
            }
            // Leave no config behind for the tests that list every type.
            _ = try await client.admin.deleteTaskConfig(.with { $0.taskType = type })
            return statuses
        }
        let unfinished = statuses.filter { $0.value != .succeeded }
        XCTAssertTrue(unfinished.isEmpty, "not SUCCEEDED: \(unfinished)")
        let counts = service.executions
        let neverRan = acknowledged.filter { counts[$0, default: 0] == 0 }
        XCTAssertEqual(neverRan, [], "succeeded without the service seeing them?")
        let twice = counts.filter { $0.value > 1 }
        XCTAssertEqual(twice, [:], "run more than once although no worker died")
        print(
            "sentinel failover: \(acknowledged.count) tasks acknowledged (\(acknowledgedAfterKill) after the kill), \(refused.count) refused until \(refusedFor) after the kill, \(twice.count) run twice"
        )
        await service.stop()

        let log = node.stop().log
        stopped = true
        for line in log.split(separator: "\n") where ["Sentinel", "became leader", "leadership"].contains(where: { line.contains($0) }) {
            print("node: \(line.prefix(300))")
        }
        XCTAssertTrue(log.contains("Redis master found through Sentinel"), String(log.suffix(3000)))
        XCTAssertTrue(log.contains("Redis master changed (Sentinel failover)"), String(log.suffix(3000)))
        XCTAssertFalse(log.contains(SentinelServers.redisPassword), "the master's password is never logged")
        XCTAssertFalse(log.contains(SentinelServers.sentinelPassword), "nor the Sentinels'")
    }
}

import BatonClient
import BatonProto
import BatonTestSupport
import Foundation
import GRPCCore
import XCTest

/// The three-node cluster on real Redis and MariaDB: the client's checks,
/// failover, a node dying mid-task, and a graceful stop.
final class ClusterEndToEndTests: XCTestCase {
    private let prefix = TestEnvironment.uniqueName("e2e").replacingOccurrences(of: "-", with: "_")

    override func setUp() async throws {
        try ClusterFixture.script(["start"])
    }

    override func tearDown() async throws {
        try ClusterFixture.script(["stop"])
    }

    private func type(_ name: String, handler: String, timeout: Int32 = 60, retries: Int32 = 0) async throws -> String {
        let type = "\(self.prefix)_\(name)"
        try await ClusterFixture.configure(.with {
            $0.taskType = type
            $0.executor = "local"
            $0.endpoint = handler
            $0.timeoutSeconds = timeout
            $0.maxRetries = retries
            $0.retryBackoffMs = 200
            $0.enabled = true
        })
        return type
    }

    func testClientChecksPassAgainstEveryNode() throws {
        let client = TestEnvironment.repositoryRoot.appendingPathComponent(".build/debug/baton-client").path
        for node in ClusterFixture.nodes {
            let status = try ChildProcess.run(client, ["test", "--server", "127.0.0.1:\(ClusterFixture.port(node))"], environment: [:])
            XCTAssertEqual(status, 0, "baton-client test against \(node)")
        }
    }

    /// The CLI as an operator uses it: a server list whose first node is
    /// down, a partial config change, machine-readable output, a dead
    /// letter found, retried and run.
    func testTheCommandLineDrivesTheCluster() async throws {
        let client = TestEnvironment.repositoryRoot.appendingPathComponent(".build/debug/baton-client").path
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("\(self.prefix)-cli.txt").path
        func run(_ arguments: [String]) throws -> (status: Int32, text: String) {
            try? FileManager.default.removeItem(atPath: output)
            let status = try ChildProcess.run(client, arguments + ["--server", "127.0.0.1:1,127.0.0.1:\(ClusterFixture.port("server-2"))"], environment: [:], output: output)
            return (status, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
        }
        let type = "\(self.prefix)_cli"
        XCTAssertEqual(try run(["config", "put", type, "--executor", "local", "--endpoint", "fail", "--retries", "0", "--timeout", "20"]).status, 0)
        // Only the field given changes.
        XCTAssertEqual(try run(["config", "put", type, "--retries", "1"]).status, 0)
        let config = try run(["config", "get", type, "--json"]).text
        XCTAssertTrue(config.contains("\"endpoint\":\"fail\"") && config.contains("\"maxRetries\":1") && config.contains("\"timeoutSeconds\":20"), config)

        let created = try run(["create", type, "--key", "cli-1", "--retries", "0", "--json"])
        XCTAssertEqual(created.status, 0, created.text)
        guard let id = created.text.split(separator: "\"").drop(while: { $0 != "taskId" }).dropFirst(2).first.map(String.init) else {
            return XCTFail("no task id in \(created.text)")
        }
        XCTAssertEqual(try run(["wait", id, "--timeout", "20"]).status, 1, "the fail handler fails it")
        let failed = try run(["list", "--status", "failed", "--type", type, "--jsonl"])
        XCTAssertEqual(failed.text.split(separator: "\n").count, 1, failed.text)
        XCTAssertTrue(failed.text.contains(id))
        let table = try run(["list", "--type", type, "--key", "cli-1"]).text
        XCTAssertTrue(table.hasPrefix("ID ") && table.contains("failed"), table)
        let preview = try run(["bulk-retry", "--status", "failed", "--type", type, "--dry-run"])
        XCTAssertTrue(preview.text.contains("1 tasks would be retried"), preview.text)
        XCTAssertNotEqual(try run(["bulk-retry", "--status", "failed", "--type", type]).status, 0, "no terminal, no --yes: nothing done")
        XCTAssertEqual(try run(["retry", id, "--reason", "from the test"]).status, 0)
        XCTAssertEqual(try run(["wait", id, "--timeout", "20"]).status, 1)
        let logs = try run(["logs", id]).text
        XCTAssertTrue(logs.contains("retried") && logs.contains("from the test"), logs)
    }

    func testLeaderCrashLosesNothing() async throws {
        let type = try await self.type("failover", handler: "noop")
        let before = try await ClusterFixture.leader(via: "server-1")
        XCTAssertFalse(before.node.isEmpty)
        let survivor = ClusterFixture.nodes.first { $0 != before.node }!

        let request = Baton_V1_BatchCreateTasksRequest.with { $0.tasks = Array(repeating: .with { $0.taskType = type }, count: 250) }
        var ids = try await ClusterFixture.client(survivor) { try await $0.tasks.batchCreateTasks(request).tasks.map(\.taskID) }
        let crashed = ContinuousClock.now
        try ClusterFixture.crash(before.node)
        ids += try await ClusterFixture.client(survivor) { try await $0.tasks.batchCreateTasks(request).tasks.map(\.taskID) }

        var after = before
        let newLeader = try await TestEnvironment.waitUntil(timeout: .seconds(15), every: .milliseconds(100)) {
            after = try await ClusterFixture.leader(via: survivor)
            return after.node != before.node && !after.node.isEmpty
        }
        XCTAssertTrue(newLeader, "no new leader within 15 s")
        XCTAssertGreaterThan(after.epoch, before.epoch)
        print("failover: new leader \(after.node) after \(ContinuousClock.now - crashed)")

        let expected = ids.count
        let finished = try await TestEnvironment.waitUntil(timeout: .seconds(60), every: .milliseconds(250)) {
            let page = try await ClusterFixture.client(survivor) { client in
                try await client.tasks.listTasks(.with {
                    $0.taskType = type
                    $0.statuses = [.succeeded]
                    $0.pageSize = 1000
                })
            }
            return page.tasks.count == expected
        }
        XCTAssertTrue(finished, "not every task created around the crash succeeded")
        let firstID = ids[0]
        let sample = try await ClusterFixture.client(survivor) { try await $0.getTask(firstID) }
        XCTAssertEqual(sample.status, .succeeded)
        try ClusterFixture.script(["start", before.node])
    }

    func testTaskOnCrashedNodeRunsAgainElsewhere() async throws {
        let type = try await self.type("crash", handler: "sleep")
        let task = try await ClusterFixture.client("server-1") { try await $0.createTask(type: type, payload: ["ms": "3000"]) }
        var running = task
        let started = try await TestEnvironment.waitUntil(timeout: .seconds(10)) {
            running = try await ClusterFixture.client("server-1") { try await $0.getTask(task.taskID) }
            return running.status == .running
        }
        XCTAssertTrue(started)
        let victim = ClusterFixture.node(ofWorker: running.workerID)
        let watcher = ClusterFixture.nodes.first { $0 != victim }!
        try ClusterFixture.crash(victim)
        let crashed = ContinuousClock.now

        let done = try await ClusterFixture.client(watcher) { try await $0.waitForTask(task.taskID, timeout: .seconds(45)) }
        XCTAssertEqual(done.status, .succeeded)
        XCTAssertEqual(done.attempt, 2)
        XCTAssertNotEqual(done.workerID, running.workerID)
        print("dead-worker recovery: finished on \(done.workerID) \(ContinuousClock.now - crashed) after the crash")
        try ClusterFixture.script(["start", victim])
    }

    func testGracefulStopFinishesRunningTaskAndHandsOverLeadership() async throws {
        let type = try await self.type("graceful", handler: "sleep")
        let task = try await ClusterFixture.client("server-1") { try await $0.createTask(type: type, payload: ["ms": "2000"]) }
        var running = task
        let started = try await TestEnvironment.waitUntil(timeout: .seconds(10)) {
            running = try await ClusterFixture.client("server-1") { try await $0.getTask(task.taskID) }
            return running.status == .running
        }
        XCTAssertTrue(started)
        let node = ClusterFixture.node(ofWorker: running.workerID)
        try ClusterFixture.script(["stop", node])
        let other = ClusterFixture.nodes.first { $0 != node }!
        let done = try await ClusterFixture.client(other) { try await $0.getTask(task.taskID) }
        XCTAssertEqual(done.status, .succeeded)
        XCTAssertEqual(done.attempt, 1)
        try ClusterFixture.script(["start", node])

        // SIGTERM the leader: another node leads within one renew interval (3 s).
        let leader = try await ClusterFixture.leader(via: "server-1")
        let survivor = ClusterFixture.nodes.first { $0 != leader.node }!
        try ClusterFixture.script(["stop", leader.node])
        let stopped = ContinuousClock.now
        let handedOver = try await TestEnvironment.waitUntil(timeout: .seconds(4), every: .milliseconds(50)) {
            let now = try await ClusterFixture.leader(via: survivor)
            return !now.node.isEmpty && now.node != leader.node
        }
        XCTAssertTrue(handedOver, "no new leader within one renew interval")
        print("graceful handover: \(ContinuousClock.now - stopped)")
        try ClusterFixture.script(["start", leader.node])
    }
}

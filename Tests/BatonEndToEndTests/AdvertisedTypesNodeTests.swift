import BatonClient
import BatonProto
import BatonTestSupport
import Foundation
import XCTest

/// Real nodes: a worker runs only what it advertises (here narrowed by
/// `--task-types`), and a type no live worker runs waits for one.
final class AdvertisedTypesNodeTests: XCTestCase {
    /// `echo` runs only on node two; with node two down, echo tasks wait
    /// QUEUED (GetStats names the type) while noop keeps running on node
    /// one, and they run on node two once it is back.
    func testATypeOnlyNodeTwoRunsGoesThereAndWaitsForIt() async throws {
        let namespace = TestEnvironment.uniqueName("typestest")
        let one = try WireNode(namespace: namespace, arguments: ["--task-types", "noop"])
        defer { one.stop() }
        var two = try WireNode(namespace: namespace)
        defer { two.stop() }
        for node in [one, two] { try await node.waitReady() }
        let twoID = two.id

        try await withBatonClient(host: "127.0.0.1", port: one.grpcPort) { client in
            let led = try await TestEnvironment.waitUntil(timeout: .seconds(15), every: .milliseconds(200)) {
                let stats = try await client.stats()
                return !stats.leaderNodeID.isEmpty && stats.workers.count == 2
            }
            XCTAssertTrue(led, "a leader and two workers")
            for index in 0..<4 {
                let task = try await client.createTask(type: "echo", payload: ["n": "\(index)"])
                let done = try await client.waitForTask(task.taskID, timeout: .seconds(30))
                XCTAssertEqual(done.status, .succeeded)
                XCTAssertTrue(done.workerID.hasPrefix("\(twoID)-worker-"), "echo ran on \(done.workerID)")
            }
        }

        two.stop()
        let waiting = try await withBatonClient(host: "127.0.0.1", port: one.grpcPort) { client in
            let alone = try await TestEnvironment.waitUntil(timeout: .seconds(20), every: .milliseconds(200)) {
                try await client.stats().workers.count == 1
            }
            XCTAssertTrue(alone, "node two's worker left")
            var waiting: [String] = []
            for _ in 0..<3 { waiting.append(try await client.createTask(type: "echo", payload: [:]).taskID) }
            let noop = try await client.createTask(type: "noop", payload: [:])
            let flowed = try await client.waitForTask(noop.taskID, timeout: .seconds(30))
            XCTAssertEqual(flowed.status, .succeeded, "other types keep running")
            let reported = try await TestEnvironment.waitUntil(timeout: .seconds(10), every: .milliseconds(200)) {
                try await client.stats().unservedTaskTypes.contains { $0.taskType == "echo" && $0.parkedTasks == 3 }
            }
            XCTAssertTrue(reported, "GetStats names echo and its waiting tasks")
            for id in waiting {
                let task = try await client.getTask(id)
                XCTAssertEqual(task.status, .queued, "waits, never failed")
            }
            return waiting
        }

        two = try WireNode(id: twoID, namespace: namespace)
        try await two.waitReady()
        try await withBatonClient(host: "127.0.0.1", port: one.grpcPort) { client in
            for id in waiting {
                let done = try await client.waitForTask(id, timeout: .seconds(30))
                XCTAssertEqual(done.status, .succeeded)
                XCTAssertTrue(done.workerID.hasPrefix("\(twoID)-worker-"), "echo ran on \(done.workerID)")
            }
            let after = try await client.stats().unservedTaskTypes.map(\.taskType)
            XCTAssertFalse(after.contains("echo"))
        }
    }
}

import BatonAuth
import BatonModel
import BatonProto
import BatonService
import BatonTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization
import XCTest

/// WatchTask streams are bounded per key and per node, and however many
/// watch one task, MariaDB's reads follow the task's changes.
final class WatchLimitTests: XCTestCase {
    private var harness: APIHarness?

    override func tearDown() async throws {
        try await self.harness?.shutdown()
        self.harness = nil
    }

    private static let firstKey = "watch-a-\(UUID().uuidString)"
    private static let secondKey = "watch-b-\(UUID().uuidString)"

    func testStreamsAreBoundedPerKeyAndPerNode() async throws {
        let keys = try APIKeys(text: "a viewer \(Self.firstKey)\nb viewer \(Self.secondKey)\nops admin admin-\(Self.firstKey)")
        let harness = try await APIHarness(keys: keys, watchLimits: WatchLimits(perNode: 5, perKey: 3))
        self.harness = harness
        let type = try await harness.configure("bounded", apiKey: "admin-\(Self.firstKey)")
        let id = try await harness.withClient(apiKey: "admin-\(Self.firstKey)") { tasks, _ in
            try await tasks.createTask(.with { $0.taskType = type }).task.taskID
        }

        // Holds `count` watches open with `key`; returns the codes of those refused.
        let opened = SharedCount()
        func watch(_ key: String, count: Int, group: inout ThrowingTaskGroup<RPCError.Code?, any Error>) {
            for _ in 0..<count {
                group.addTask {
                    do {
                        try await harness.withClient(apiKey: key) { tasks, _ in
                            try await tasks.watchTask(.with { $0.taskID = id }) { response in
                                for try await _ in response.messages { opened.add() }
                            }
                        }
                        return nil
                    } catch let error as RPCError {
                        return error.code
                    }
                }
            }
        }
        let refusals = try await withThrowingTaskGroup(of: RPCError.Code?.self) { group in
            watch(Self.firstKey, count: 4, group: &group)
            watch(Self.secondKey, count: 3, group: &group)
            // 3 of the first key and 2 of the second are admitted (5 per node).
            let admitted = try await TestEnvironment.waitUntil { opened.value >= 5 }
            XCTAssertTrue(admitted)
            var refusals: [RPCError.Code] = []
            for _ in 0..<2 { if let code = try await group.next() ?? nil { refusals.append(code) } }
            // Ending the task ends the admitted watches; their slots come free.
            _ = try await harness.withClient(apiKey: "admin-\(Self.firstKey)") { tasks, _ in try await tasks.cancelTask(.with { $0.taskID = id }) }
            for try await code in group { if let code { refusals.append(code) } }
            return refusals
        }
        XCTAssertEqual(refusals, [.resourceExhausted, .resourceExhausted])
        XCTAssertEqual(opened.value, 10, "5 admitted watches, each saw QUEUED then CANCELLED")

        // Freed: a new watch is admitted (of a finished task: one message, then the end).
        let again = try await harness.withClient(apiKey: Self.firstKey) { tasks, _ in
            try await tasks.watchTask(.with { $0.taskID = id }) { response in
                var count = 0
                for try await _ in response.messages { count += 1 }
                return count
            }
        }
        XCTAssertEqual(again, 1)
    }

    func testTwoThousandWatchersOfOneTaskShareTheirReads() async throws {
        let harness = try await APIHarness()
        self.harness = harness
        let type = try await harness.configure("shared")
        let id = try await harness.withClient { tasks, _ in try await tasks.createTask(.with { $0.taskType = type }).task.taskID }

        let watchers = 2_000
        let firstSeen = SharedCount()
        let finalStatuses = SharedList<Baton_V1_TaskStatus>()
        let port = try await harness.server.listeningPort()
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Many connections (a server allows 100 streams on one), as many clients would come.
            let connections = 25
            for _ in 0..<connections {
                group.addTask {
                    try await withGRPCClient(
                        transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
                    ) { client in
                        let tasks = Baton_V1_TaskService.Client(wrapping: client)
                        try await withThrowingTaskGroup(of: Void.self) { streams in
                            for _ in 0..<(watchers / connections) {
                                streams.addTask {
                                    try await tasks.watchTask(.with { $0.taskID = id }) { response in
                                        var last: Baton_V1_TaskStatus?
                                        for try await task in response.messages {
                                            if last == nil { firstSeen.add() }
                                            last = task.status
                                        }
                                        finalStatuses.append(last ?? .unspecified)
                                    }
                                }
                            }
                            try await streams.waitForAll()
                        }
                    }
                }
            }
            let allOpen = try await TestEnvironment.waitUntil(timeout: .seconds(60)) { firstSeen.value >= watchers }
            XCTAssertTrue(allOpen, "\(firstSeen.value) of \(watchers) watchers opened")

            // Two seconds of watching, with three change notifications: each
            // is one shared read (the old watchers read the row every
            // fallback interval each: 2,000 × 5/s here).
            let before = try await Self.selects(harness)
            for _ in 0..<3 {
                try await harness.broker.announce([id])
                try await Task.sleep(for: .milliseconds(660))
            }
            let reads = try await Self.selects(harness) - before
            XCTAssertLessThan(reads, 300, "MariaDB SELECTs while 2,000 watchers watched for 2 s")
            print("2,000 watchers, 2 s, 3 notifications: \(reads) SELECTs on the server")

            _ = try await harness.withClient { tasks, _ in try await tasks.cancelTask(.with { $0.taskID = id }) }
            try await group.waitForAll()
        }
        let statuses = finalStatuses.values
        XCTAssertEqual(statuses.count, watchers)
        XCTAssertEqual(Set(statuses), [.cancelled])
    }

    /// SELECTs the server has run (all sessions: the bound above leaves
    /// room for other clients of the test server).
    private static func selects(_ harness: APIHarness) async throws -> Int {
        try await harness.mysql.query("SHOW GLOBAL STATUS LIKE 'Com_select'").first.flatMap { Int($0.string("Value") ?? "") } ?? 0
    }
}

/// A counter closures of several tasks add to.
private final class SharedCount: Sendable {
    private let count = Atomic<Int>(0)
    func add() { self.count.add(1, ordering: .relaxed) }
    var value: Int { self.count.load(ordering: .relaxed) }
}

/// A list closures of several tasks append to.
private final class SharedList<Element: Sendable>: Sendable {
    private let list = Mutex<[Element]>([])
    func append(_ element: Element) { self.list.withLock { $0.append(element) } }
    var values: [Element] { self.list.withLock { $0 } }
}

import BatonAuth
import BatonModel
import BatonProto
import BatonTestSupport
import Foundation
import GRPCCore
import XCTest

/// Two services sharing a cluster: each key's tenant owns the tasks it
/// creates; the other tenant can neither see, change nor squat them.
final class TenantTests: XCTestCase {
    private static let alphaKey = "alpha-\(UUID().uuidString)"
    private static let alphaViewerKey = "alpha-viewer-\(UUID().uuidString)"
    private static let betaKey = "beta-\(UUID().uuidString)#with#hashes"
    private static let adminKey = "ops-\(UUID().uuidString)"

    private var harness: APIHarness!
    private var alpha = ""
    private var beta = ""

    override func setUp() async throws {
        let unique = TestEnvironment.uniqueName("tenant")
        self.alpha = "alpha.\(unique)"
        self.beta = "beta.\(unique)"
        let keys = try APIKeys(text: """
            alpha-ci submitter \(Self.alphaKey) \(self.alpha)
            alpha-dash viewer \(Self.alphaViewerKey) \(self.alpha)
            beta-ci submitter \(Self.betaKey) \(self.beta)
            ops admin \(Self.adminKey)
            """)
        self.harness = try await APIHarness(keys: keys)
    }

    override func tearDown() async throws {
        try await self.harness.mysql.execute(
            "DELETE FROM task_status_count WHERE tenant IN (?, ?)", [.string(self.alpha), .string(self.beta)]
        )
        try await self.harness.shutdown()
    }

    func testATenantNeitherSeesNorChangesAnothersTasks() async throws {
        let type = try await self.harness.configure("own", apiKey: Self.adminKey)
        let harness = self.harness!
        let task = try await harness.withClient(apiKey: Self.alphaKey) { tasks, _ in
            try await tasks.createTask(.with { $0.taskType = type; $0.idempotencyKey = "order-1" }).task
        }

        // Beta: as if the task did not exist, whichever way it asks.
        let id = task.taskID
        try await harness.withClient(apiKey: Self.betaKey) { tasks, _ in
            let getCode = await APIHarness.code { _ = try await tasks.getTask(.with { $0.taskID = id }) }
            let logsCode = await APIHarness.code { _ = try await tasks.getTaskLogs(.with { $0.taskID = id }) }
            let cancelCode = await APIHarness.code { _ = try await tasks.cancelTask(.with { $0.taskID = id }) }
            let retryCode = await APIHarness.code { _ = try await tasks.retryTask(.with { $0.taskID = id }) }
            let watchCode = await APIHarness.code { try await tasks.watchTask(.with { $0.taskID = id }) { for try await _ in $0.messages {} } }
            XCTAssertEqual([getCode, logsCode, cancelCode, retryCode, watchCode], Array(repeating: .notFound, count: 5))
            for filter in [
                Baton_V1_ListTasksRequest(),
                .with { $0.taskType = type },
                .with { $0.statuses = [.queued] },
                .with { $0.taskType = type; $0.idempotencyKey = "order-1" },
            ] {
                let listed = try await tasks.listTasks(filter).tasks.map(\.taskID)
                XCTAssertFalse(listed.contains(id), "beta listed alpha's task with \(filter)")
            }
        }
        // Still queued: beta's cancel changed nothing.
        let after = try await harness.withClient(apiKey: Self.alphaViewerKey) { tasks, _ in
            try await tasks.getTask(.with { $0.taskID = id }).task
        }
        XCTAssertEqual(after.status, .queued)

        // Alpha's viewer and the admin see it; the admin in any list.
        let alphaListed = try await harness.withClient(apiKey: Self.alphaViewerKey) { tasks, _ in
            try await tasks.listTasks(.with { $0.taskType = type }).tasks.map(\.taskID)
        }
        XCTAssertEqual(alphaListed, [id])
        let adminListed = try await harness.withClient(apiKey: Self.adminKey) { tasks, _ in
            try await tasks.listTasks(.with { $0.statuses = [.queued]; $0.taskType = type }).tasks.map(\.taskID)
        }
        XCTAssertEqual(adminListed, [id])
    }

    func testIdempotencyKeysBelongToTheirTenantAndTrailingSpacesCount() async throws {
        let type = try await self.harness.configure("keys", apiKey: Self.adminKey)
        let harness = self.harness!
        func create(_ key: String, as apiKey: String) async throws -> (id: String, deduplicated: Bool) {
            try await harness.withClient(apiKey: apiKey) { tasks, _ in
                let response = try await tasks.createTask(.with { $0.taskType = type; $0.idempotencyKey = key })
                return (response.task.taskID, response.deduplicated)
            }
        }
        let alphaFirst = try await create("invoice-7", as: Self.alphaKey)
        // Beta cannot squat (or learn about) alpha's key: it gets its own task.
        let betaFirst = try await create("invoice-7", as: Self.betaKey)
        XCTAssertFalse(alphaFirst.deduplicated)
        XCTAssertFalse(betaFirst.deduplicated)
        XCTAssertNotEqual(alphaFirst.id, betaFirst.id)
        let alphaAgain = try await create("invoice-7", as: Self.alphaKey)
        let betaAgain = try await create("invoice-7", as: Self.betaKey)
        XCTAssertEqual(alphaAgain.id, alphaFirst.id)
        XCTAssertTrue(alphaAgain.deduplicated)
        XCTAssertEqual(betaAgain.id, betaFirst.id)

        // A trailing space makes another key (it failed INTERNAL under PAD SPACE).
        let spaced = try await create("invoice-7 ", as: Self.alphaKey)
        XCTAssertFalse(spaced.deduplicated)
        XCTAssertNotEqual(spaced.id, alphaFirst.id)
        let spacedAgain = try await create("invoice-7 ", as: Self.alphaKey)
        XCTAssertEqual(spacedAgain.id, spaced.id)
        let unspaced = try await create("invoice-7", as: Self.alphaKey)
        XCTAssertEqual(unspaced.id, alphaFirst.id)

        // Concurrent creates of both tenants with one key, sharing commits.
        let ids = try await withThrowingTaskGroup(of: (String, String).self) { group in
            for index in 0..<20 {
                let key = index % 2 == 0 ? Self.alphaKey : Self.betaKey
                group.addTask { (key, try await create("burst", as: key).id) }
            }
            return try await group.reduce(into: [String: Set<String>]()) { $0[$1.0, default: []].insert($1.1) }
        }
        XCTAssertEqual(ids[Self.alphaKey]?.count, 1)
        XCTAssertEqual(ids[Self.betaKey]?.count, 1)
        XCTAssertNotEqual(ids[Self.alphaKey], ids[Self.betaKey])
    }

    func testStatsCountATenantsOwnTasks() async throws {
        let type = try await self.harness.configure("stats", apiKey: Self.adminKey)
        let harness = self.harness!
        let alphaIDs = try await harness.withClient(apiKey: Self.alphaKey) { tasks, _ in
            try await tasks.batchCreateTasks(.with { $0.tasks = Array(repeating: .with { $0.taskType = type }, count: 3) }).tasks.map(\.taskID)
        }
        try await harness.withClient(apiKey: Self.betaKey) { tasks, _ in
            _ = try await tasks.batchCreateTasks(.with { $0.tasks = Array(repeating: .with { $0.taskType = type }, count: 2) })
        }
        try await harness.withClient(apiKey: Self.alphaKey) { tasks, _ in
            _ = try await tasks.cancelTask(.with { $0.taskID = alphaIDs[0] })
        }
        let alphaStats = try await harness.withClient(apiKey: Self.alphaViewerKey) { tasks, _ in try await tasks.getStats(.init()) }
        let betaStats = try await harness.withClient(apiKey: Self.betaKey) { tasks, _ in try await tasks.getStats(.init()) }
        let adminStats = try await harness.withClient(apiKey: Self.adminKey) { tasks, _ in try await tasks.getStats(.init()) }
        XCTAssertEqual(alphaStats.tasksByStatus["TASK_STATUS_QUEUED"], 2)
        XCTAssertEqual(alphaStats.tasksByStatus["TASK_STATUS_CANCELLED"], 1)
        XCTAssertEqual(betaStats.tasksByStatus["TASK_STATUS_QUEUED"], 2)
        XCTAssertEqual(betaStats.tasksByStatus["TASK_STATUS_CANCELLED"], 0)
        XCTAssertGreaterThanOrEqual(adminStats.tasksByStatus["TASK_STATUS_QUEUED"] ?? 0, 4)
        XCTAssertGreaterThanOrEqual(adminStats.tasksByStatus["TASK_STATUS_CANCELLED"] ?? 0, 1)
    }

    func testKeyFileTenantColumn() throws {
        let keys = try APIKeys(text: "a submitter k1 team-a\nb viewer k2\n")
        XCTAssertEqual(keys.entry(forKey: "k1")?.tenant, "team-a")
        XCTAssertEqual(keys.entry(forKey: "k2")?.tenant, Tenant.default)
        XCTAssertThrowsError(try APIKeys(text: "a submitter k1 team/a"))
        XCTAssertThrowsError(try APIKeys(text: "a submitter k1 \(String(repeating: "t", count: 65))"))
        XCTAssertThrowsError(try APIKeys(text: "a submitter k1 team extra"))
    }
}

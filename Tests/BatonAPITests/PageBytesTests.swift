import BatonModel
import BatonProto
import BatonStore
import BatonTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import XCTest

/// List pages are bounded by bytes as well as rows: tasks with 1 MB
/// payloads come a few to a page, each page within the 4 MiB a gRPC client
/// accepts by default, and every task exactly once.
final class PageBytesTests: XCTestCase {
    private var harness: APIHarness?

    override func tearDown() async throws {
        try await self.harness?.shutdown()
        self.harness = nil
    }

    func testPagesOfLargeTasksStayWithinTheClientsMessageLimit() async throws {
        let harness = try await APIHarness()
        self.harness = harness
        let type = try await harness.configure("large")
        let count = 24
        // Stored directly (what CreateTask stores; the API would take a
        // while to validate 60 MB in a debug build).
        let now = Date().roundedToMicroseconds
        let tasks = (0..<count).map { index in
            TaskRecord(
                taskID: TaskID.make(), taskType: type, priority: .normal,
                payload: ["blob": String(repeating: Character(String(index % 10)), count: 1_000_000)],
                status: .queued, maxRetries: 0, timeoutSeconds: 60, createdAt: now, updatedAt: now
            )
        }
        for start in stride(from: 0, to: count, by: 4) { try await TaskStore(mysql: harness.mysql).insert(Array(tasks[start..<start + 4])) }
        let created = tasks.map(\.taskID)
        let createdAt = ContinuousClock.now
        // The client keeps gRPC's default receive limit (4 MiB): a page past it fails the call.
        let (listed, largest, pages) = try await harness.withClient { tasks, _ in
            var listed: [String] = []
            var largest = 0
            var pages = 0
            var token = ""
            repeat {
                let page = try await tasks.listTasks(.with {
                    $0.taskType = type
                    $0.pageSize = 1000
                    $0.pageToken = token
                })
                let bytes: [UInt8] = try page.serializedBytes()
                largest = max(largest, bytes.count)
                pages += 1
                listed += page.tasks.map(\.taskID)
                token = page.nextPageToken
            } while !token.isEmpty
            return (listed, largest, pages)
        }
        print("listed \(count) tasks of 1 MB in \(pages) pages (largest \(largest) bytes) in \(ContinuousClock.now - createdAt)")
        XCTAssertEqual(Set(listed), Set(created))
        XCTAssertEqual(listed.count, count)
        XCTAssertLessThanOrEqual(largest, 4 << 20)
        XCTAssertGreaterThan(pages, count / 4)
    }
}

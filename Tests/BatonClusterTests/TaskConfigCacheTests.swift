@testable import BatonStore
import XCTest

/// The task-type cache against a real MariaDB.
final class TaskConfigCacheTests: XCTestCase {
    private var harness: SchedulerHarness!

    override func setUp() async throws { self.harness = try await SchedulerHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    func testEndlessUnknownTypesKeepTheCacheBounded() async throws {
        let known = try await self.harness.type("known")
        let cache = TaskConfigCache(store: self.harness.configs, maxAge: .seconds(60), maxEntries: 20)
        let first = try await cache.config(known)
        XCTAssertEqual(first?.taskType, known)
        for index in 0..<200 {
            let unknown = try await cache.config("\(self.harness.prefix)_nobody_\(index)")
            XCTAssertNil(unknown)
            XCTAssertLessThanOrEqual(cache.count, 20)
        }
        // The configured type outlives the flood of unknown ones.
        let again = try await cache.config(known)
        XCTAssertEqual(again?.taskType, known)
        XCTAssertLessThanOrEqual(cache.count, 20)
    }
}

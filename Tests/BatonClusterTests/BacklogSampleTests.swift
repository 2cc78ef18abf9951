import BatonBroker
import BatonModel
import BatonMySQL
@testable import BatonStore
import BatonTestSupport
import Foundation
import Logging
import XCTest

/// The backlog gauges' reads: per-type counts and heads from the queues'
/// heads and the parked lists, since when each head waits, and the
/// migrations built into the binary.
final class BacklogSampleTests: XCTestCase {
    private var harness: SchedulerHarness!

    override func setUp() async throws { self.harness = try await SchedulerHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    func testTheSampleCountsEachTypeAndItsFirstEntries() async throws {
        let mail = try await self.harness.type("mail")
        let report = try await self.harness.type("report")
        let held = try await self.harness.type("held")
        // A paused type's entries are parked by the dispatcher: counted there.
        let helds = try await self.harness.create(4, type: held)
        guard var config = try await self.harness.configs.config(held) else { return XCTFail("no config") }
        config.paused = true
        try await self.harness.broker.setLimits(TypeLimits(config))
        try await self.harness.registerWorker("w1", capacity: 100)
        let term = try await self.harness.lead()
        _ = try await self.harness.dispatcher().dispatchOnce(term: term)
        // Created after the dispatch: they wait on the queues.
        let mails = try await self.harness.create(3, type: mail)
        let reports = try await self.harness.create(2, type: report, priority: .high)
        try await self.harness.create(1, type: mail, priority: .high)

        let sample = try await self.harness.broker.backlogSample()
        XCTAssertFalse(sample.estimated)
        XCTAssertEqual(sample.types[mail]?.waiting, 4)
        XCTAssertEqual(sample.types[report]?.waiting, 2)
        XCTAssertEqual(sample.types[held]?.waiting, 4)
        XCTAssertEqual(sample.types[held]?.parked, 4)
        XCTAssertEqual(sample.paused, [held])
        // The first entry of each type on each queue (high first) and on its parked list.
        XCTAssertEqual(sample.types[report]?.heads, [reports[0].taskID])
        XCTAssertEqual(sample.types[mail]?.heads.last, mails[0].taskID)
        XCTAssertEqual(sample.types[mail]?.heads.count, 2)
        XCTAssertEqual(sample.types[held]?.heads, [helds[0].taskID])
    }

    /// Past the sample, counts are scaled to the queue's length.
    func testALongerQueueIsEstimatedFromItsHead() async throws {
        let mail = try await self.harness.type("mail")
        let report = try await self.harness.type("report")
        try await self.harness.create(2, type: mail)
        try await self.harness.create(2, type: report)
        let sample = try await self.harness.broker.backlogSample(limit: 2)
        XCTAssertTrue(sample.estimated)
        XCTAssertEqual(sample.types[mail]?.waiting, 4, "2 of 2 sampled, the queue holds 4")
        XCTAssertNil(sample.types[report], "beyond the sample, and no limits copied for it")
    }

    /// A task waits from its last change, or from when it became due; one no
    /// longer waiting has no time.
    func testWaitingSinceIsTheLaterOfTheChangeAndTheDueTime() async throws {
        let mail = try await self.harness.type("mail")
        let now = try await self.harness.create(1, type: mail)[0]
        let runAt = Date().addingTimeInterval(600).roundedToMicroseconds
        let later = try await self.harness.create(1, type: mail, runAt: runAt)[0]
        var running = now
        running.taskID = TaskID.make()
        running.status = .running
        try await self.harness.tasks.insert([running])
        let since = try await self.harness.tasks.waitingSince([now.taskID, later.taskID, running.taskID, TaskID.make()])
        XCTAssertEqual(since[now.taskID]?.timeIntervalSince1970 ?? 0, now.updatedAt.timeIntervalSince1970, accuracy: 0.001)
        XCTAssertEqual(since[later.taskID]?.timeIntervalSince1970 ?? 0, runAt.timeIntervalSince1970, accuracy: 0.001)
        XCTAssertNil(since[running.taskID])
        XCTAssertEqual(since.count, 2)
    }

    func testWaitingSinceReadsThePrimaryKey() async throws {
        let ids = [TaskID.make(), TaskID.make(), TaskID.make()].map(MySQLValue.string)
        let plan = try await self.harness.mysql.query("EXPLAIN " + TaskStore.waitingSinceQuery(ids.count), ids)
        XCTAssertEqual(plan.count, 1)
        XCTAssertEqual(plan.first?.string("key"), "PRIMARY", "\(plan)")
        XCTAssertNotEqual(plan.first?.string("type"), "ALL", "\(plan)")
    }

    /// What the node applies when no --migrations folder is given is sql/ as committed.
    func testTheEmbeddedMigrationsAreThoseOfSQL() throws {
        let logger = Logger(label: "test")
        let embedded = MySQLMigrator(files: EmbeddedMigrations.files, logger: logger).migrations
        let folder = try MySQLMigrator(directory: TestEnvironment.migrationsDirectory, logger: logger).migrations
        XCTAssertFalse(embedded.isEmpty)
        XCTAssertEqual(embedded, folder, "run `make migrations`")
    }
}

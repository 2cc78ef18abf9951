import BatonModel
import BatonProto
import BatonTestSupport
import Foundation
import GRPCCore
import XCTest

/// Schedules over gRPC: put, read back with the next fire time, refusals
/// that name the field, trigger, list by schedule, delete; a type a
/// schedule names cannot be deleted.
final class ScheduleAPITests: XCTestCase {
    private var harness: APIHarness!

    override func setUp() async throws {
        self.harness = try await APIHarness()
    }

    override func tearDown() async throws {
        try await self.harness.deleteSchedules()
        try await self.harness.shutdown()
    }

    private func schedule(_ id: String, type: String, cron: String, zone: String = "") -> Baton_V1_Schedule {
        .with {
            $0.scheduleID = id
            $0.cron = cron
            $0.timeZone = zone
            $0.taskType = type
            $0.payload = ["report": "daily"]
            $0.misfire = .misfireRunAll
            $0.overlap = .overlapSkip
            $0.timeoutSeconds = 7
        }
    }

    func testPutGetListTriggerAndDelete() async throws {
        let harness = self.harness!
        let type = try await harness.configure("sched")
        let id = harness.taskType("nightly")
        let put = self.schedule(id, type: type, cron: "30 2 * * *", zone: "Europe/Berlin")
        let stored = try await harness.withClient { _, admin in try await admin.putSchedule(.with { $0.schedule = put }) }
        XCTAssertEqual(stored.cron, "30 2 * * *")
        XCTAssertEqual(stored.timeZone, "Europe/Berlin")
        XCTAssertEqual(stored.misfire, .misfireRunAll)
        XCTAssertEqual(stored.overlap, .overlapSkip)
        XCTAssertEqual(stored.timeoutSeconds, 7)
        XCTAssertTrue(stored.hasNextFireAt)
        // 02:30 in Berlin is 00:30 or 01:30 UTC.
        let next = stored.nextFireAt.date
        let utc = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: next)
        XCTAssertEqual(utc.minute, 30)
        XCTAssertTrue([0, 1].contains(utc.hour), "\(next)")
        XCTAssertGreaterThan(next, Date())

        let fetched = try await harness.withClient { _, admin in try await admin.getSchedule(.with { $0.scheduleID = id }) }
        XCTAssertEqual(fetched, stored)
        let listed = try await harness.withClient { _, admin in try await admin.listSchedules(.init()) }
        XCTAssertTrue(listed.schedules.contains(stored))

        let triggered = try await harness.withClient { _, admin in try await admin.triggerSchedule(.with { $0.scheduleID = id }) }
        XCTAssertEqual(triggered.task.scheduleID, id)
        XCTAssertTrue(triggered.task.hasScheduledFor)
        XCTAssertEqual(triggered.task.payload, ["report": "daily"])
        XCTAssertEqual(triggered.task.timeoutSeconds, 7)
        let byID = try await harness.withClient { tasks, _ in try await tasks.listTasks(.with { $0.scheduleID = id }) }
        XCTAssertEqual(byID.tasks.map(\.taskID), [triggered.task.taskID])
        let after = try await harness.withClient { _, admin in try await admin.getSchedule(.with { $0.scheduleID = id }) }
        XCTAssertEqual(after.lastTaskID, triggered.task.taskID)
        XCTAssertEqual(after.nextFireAt, stored.nextFireAt, "a trigger leaves the cron times alone")

        // The type cannot go while the schedule names it.
        let deleteType = await APIHarness.code {
            _ = try await harness.withClient { _, admin in try await admin.deleteTaskConfig(.with { $0.taskType = type }) }
        }
        XCTAssertEqual(deleteType, .failedPrecondition)

        _ = try await harness.withClient { _, admin in try await admin.deleteSchedule(.with { $0.scheduleID = id }) }
        let records = try await harness.mysql.query("SELECT COUNT(*) AS n FROM schedule_fire WHERE schedule_id = ?", [.string(id)])
        XCTAssertEqual(records.first?.int("n"), 0, "its fire records go with it")
        let gone = await APIHarness.code {
            _ = try await harness.withClient { _, admin in try await admin.getSchedule(.with { $0.scheduleID = id }) }
        }
        XCTAssertEqual(gone, .notFound)
        let again = await APIHarness.code {
            _ = try await harness.withClient { _, admin in try await admin.deleteSchedule(.with { $0.scheduleID = id }) }
        }
        XCTAssertEqual(again, .notFound)
    }

    func testBadSchedulesAreRefusedNamingTheFieldAndChangeNothing() async throws {
        let harness = self.harness!
        let type = try await harness.configure("bad")
        let cases: [(Baton_V1_Schedule, String)] = [
            (self.schedule(harness.taskType("hour"), type: type, cron: "0 25 * * *"), "hour"),
            (self.schedule(harness.taskType("fields"), type: type, cron: "* * *"), "cron"),
            (self.schedule(harness.taskType("zone"), type: type, cron: "0 2 * * *", zone: "Mars/Olympus"), "Mars/Olympus"),
            (self.schedule(harness.taskType("never"), type: type, cron: "0 0 30 2 *"), "never"),
            (self.schedule("bad id!", type: type, cron: "@hourly"), "schedule_id"),
            (self.schedule(harness.taskType("type"), type: harness.taskType("missing"), cron: "@hourly"), "not configured"),
        ]
        for (schedule, word) in cases {
            do {
                _ = try await harness.withClient { _, admin in try await admin.putSchedule(.with { $0.schedule = schedule }) }
                XCTFail("\(schedule.cron) was accepted")
            } catch let error as RPCError {
                XCTAssertEqual(error.code, .invalidArgument, "\(schedule.cron): \(error.message)")
                XCTAssertTrue(error.message.localizedCaseInsensitiveContains(word), "\(schedule.cron): \(error.message) should name \(word)")
            }
        }
        let listed = try await harness.withClient { _, admin in try await admin.listSchedules(.init()) }
        XCTAssertFalse(listed.schedules.contains { $0.scheduleID.hasPrefix(harness.taskType("")) }, "nothing stored")
    }

    func testBulkCallsTakeTheScheduleFilter() async throws {
        let harness = self.harness!
        let type = try await harness.configure("bulk")
        let id = harness.taskType("bulk")
        let yearly = self.schedule(id, type: type, cron: "@yearly")
        _ = try await harness.withClient { _, admin in try await admin.putSchedule(.with { $0.schedule = yearly }) }
        var fired: [String] = []
        for _ in 0..<2 {
            let task = try await harness.withClient { _, admin in try await admin.triggerSchedule(.with { $0.scheduleID = id }) }.task
            fired.append(task.taskID)
        }
        let other = try await harness.withClient { tasks, _ in try await tasks.createTask(.with { $0.taskType = type }) }.task
        let cancelled = try await harness.withClient { tasks, _ in
            try await tasks.bulkCancelTasks(.with { $0.filter = .with { $0.scheduleID = id } })
        }
        XCTAssertEqual(cancelled.matched, 2)
        for taskID in fired {
            let task = try await harness.withClient { tasks, _ in try await tasks.getTask(.with { $0.taskID = taskID }) }.task
            XCTAssertEqual(task.status, .cancelled)
        }
        let untouched = try await harness.withClient { tasks, _ in try await tasks.getTask(.with { $0.taskID = other.taskID }) }.task
        XCTAssertNotEqual(untouched.status, .cancelled, "a task of the type the schedule did not create")
    }
}

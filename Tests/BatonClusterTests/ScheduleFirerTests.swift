import BatonBroker
import BatonCron
import BatonModel
import BatonMySQL
import BatonScheduler
@testable import BatonStore
import BatonTestSupport
import Foundation
import XCTest

/// Schedules fire exactly once per fire time: across leaders (a deposed
/// term writes nothing), concurrent firers, triggers; under each misfire and
/// overlap policy; and the leader's questions read the head of an index.
final class ScheduleFirerTests: XCTestCase {
    private var harness: SchedulerHarness!
    private var schedules: ScheduleStore!

    override func setUp() async throws {
        self.harness = try await SchedulerHarness()
        self.schedules = ScheduleStore(mysql: self.harness.mysql)
    }

    override func tearDown() async throws {
        let like = MySQLValue.string(self.harness.prefix + "\\_%")
        try await self.harness.mysql.execute("DELETE FROM schedule_fire WHERE schedule_id LIKE ?", [like])
        try await self.harness.mysql.execute("DELETE FROM schedule WHERE schedule_id LIKE ?", [like])
        try await self.harness.shutdown()
    }

    private func firer(grace: TimeInterval = 5) -> ScheduleFirer {
        var configuration = ScheduleFirer.Configuration()
        configuration.grace = grace
        configuration.maxIdle = .milliseconds(50)
        return ScheduleFirer(
            schedules: self.schedules, configs: self.harness.configs, broker: self.harness.broker, configuration: configuration,
            logger: self.harness.logger
        )
    }

    /// A schedule whose pending fire time is `dueAgo` seconds in the past (whole seconds, as cron times are).
    private func put(
        _ name: String, type: String, cron: String = "@every 1s", dueAgo: TimeInterval = 0, misfire: ScheduleRecord.Misfire = .runOnce,
        overlap: ScheduleRecord.Overlap = .allow, paused: Bool = false
    ) async throws -> ScheduleRecord {
        let now = self.harness.broker.clock.now().roundedToMicroseconds
        let due = Date(timeIntervalSince1970: (now.timeIntervalSince1970 - dueAgo).rounded(.down))
        let schedule = ScheduleRecord(
            scheduleID: "\(self.harness.prefix)_\(name)", cron: cron, taskType: type, payload: ["n": name], paused: paused, misfire: misfire,
            overlap: overlap, nextFireAt: due, createdAt: now, updatedAt: now
        )
        try await self.schedules.put(schedule)
        return try await self.schedules.schedule(schedule.scheduleID)!
    }

    /// Makes the schedule due again half a second ago.
    private func dueAgain(_ schedule: ScheduleRecord) async throws {
        try await self.harness.mysql.execute(
            "UPDATE schedule SET next_fire_at = ? WHERE schedule_id = ?", [.date(Date().addingTimeInterval(-0.5).roundedToMicroseconds), .string(schedule.scheduleID)]
        )
    }

    /// Ends a task SUCCEEDED (its schedule's next fire sees it finished).
    private func succeed(_ taskID: String) async throws {
        try await self.harness.mysql.execute(
            "UPDATE task SET status = ? WHERE task_id = ?", [.int(Int64(TaskStatus.succeeded.rawValue)), .string(taskID)]
        )
    }

    private func fires(_ scheduleID: String) async throws -> [(scheduledFor: Date, taskID: String)] {
        try await self.harness.mysql.query(
            "SELECT scheduled_for, task_id FROM task WHERE schedule_id = ? ORDER BY scheduled_for", [.string(scheduleID)]
        ).map { ($0.date("scheduled_for")!, $0.string("task_id")!) }
    }

    func testAFireIsWrittenOnceAndADeposedLeaderWritesNothing() async throws {
        let type = try await self.harness.type("once")
        let schedule = try await self.put("once", type: type, dueAgo: 0)
        let old = try await self.harness.lead(as: "old|1")
        let new = try await self.harness.lead(as: "new|2")  // the old term is deposed in MySQL
        let firer = self.firer()
        try await firer.fireDue(term: old)
        let none = try await self.fires(schedule.scheduleID)
        XCTAssertTrue(none.isEmpty, "a deposed leader's fire never lands")
        let unmoved = try await self.schedules.schedule(schedule.scheduleID)?.nextFireAt
        XCTAssertEqual(unmoved, schedule.nextFireAt)

        try await firer.fireDue(term: new)
        let fired = try await self.fires(schedule.scheduleID)
        XCTAssertEqual(fired.map(\.scheduledFor), [schedule.nextFireAt!])
        let after = try await self.schedules.schedule(schedule.scheduleID)!
        XCTAssertEqual(after.nextFireAt, schedule.nextFireAt!.addingTimeInterval(1))
        XCTAssertEqual(after.lastTaskID, fired.first?.taskID)
        // Queued in Redis for the dispatcher.
        let queued = try await self.harness.inspector.entries(.queue(.normal)).map(\.taskID)
        XCTAssertEqual(queued, fired.map(\.taskID))
        let task = try await self.harness.tasks.task(fired[0].taskID)
        XCTAssertEqual(task?.scheduleID, schedule.scheduleID)
        XCTAssertEqual(task?.payload, ["n": "once"])
        XCTAssertEqual(task?.status, .queued)

        // The same read fired again (a leader that read before the write, or
        // one killed before it learned the answer): nothing more.
        let again = try await self.schedules.fire(
            schedule, tasks: [schedule.task(scheduledFor: schedule.nextFireAt!, config: nil, now: Date())], next: nil, now: Date(), fence: new.fence
        )
        XCTAssertNil(again)
        let still = try await self.fires(schedule.scheduleID)
        XCTAssertEqual(still.count, 1)
    }

    func testConcurrentFiresOfOneReadCreateOneTaskPerFireTime() async throws {
        let type = try await self.harness.type("race")
        let schedule = try await self.put("race", type: type, dueAgo: 0)
        let term = try await self.harness.lead()
        let store = self.schedules!
        let results = try await withThrowingTaskGroup(of: ScheduleStore.Fired?.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await store.fire(
                        schedule, tasks: [schedule.task(scheduledFor: schedule.nextFireAt!, config: nil, now: Date())],
                        next: schedule.nextFireAt!.addingTimeInterval(1), now: Date(), fence: term.fence
                    )
                }
            }
            return try await group.reduce(into: [ScheduleStore.Fired?]()) { $0.append($1) }
        }
        XCTAssertEqual(results.compactMap { $0 }.count, 1, "one firer wins")
        let fired = try await self.fires(schedule.scheduleID)
        XCTAssertEqual(fired.count, 1)
    }

    func testAFireTimeThatHasItsTaskIsNeverFiredAgain() async throws {
        // A schedule put again with another expression can come back to a
        // fire time that already has its task: the unique key holds.
        let type = try await self.harness.type("refire")
        let schedule = try await self.put("refire", type: type, dueAgo: 0)
        let term = try await self.harness.lead()
        try await self.firer().fireDue(term: term)
        var rewound = try await self.schedules.schedule(schedule.scheduleID)!
        rewound.cron = "@every 2s"
        rewound.nextFireAt = schedule.nextFireAt
        rewound.updatedAt = Date().roundedToMicroseconds
        try await self.schedules.put(rewound)
        let reread = try await self.schedules.schedule(schedule.scheduleID)!
        XCTAssertEqual(reread.nextFireAt, schedule.nextFireAt)
        let fired = try await self.schedules.fire(
            reread, tasks: [reread.task(scheduledFor: schedule.nextFireAt!, config: nil, now: Date())],
            next: schedule.nextFireAt!.addingTimeInterval(2), now: Date(), fence: term.fence
        )
        XCTAssertEqual(fired?.created.count, 0)
        XCTAssertEqual(fired?.notes.count, 1, "\(fired?.notes ?? [])")
        let tasks = try await self.fires(schedule.scheduleID)
        XCTAssertEqual(tasks.count, 1)
    }

    func testMissedFireTimesFollowTheMisfirePolicy() async throws {
        let type = try await self.harness.type("misfire")
        let term = try await self.harness.lead()
        let firer = self.firer(grace: 2)
        let once = try await self.put("m_once", type: type, dueAgo: 20, misfire: .runOnce)
        let skip = try await self.put("m_skip", type: type, dueAgo: 20, misfire: .skip)
        let all = try await self.put("m_all", type: type, dueAgo: 20, misfire: .runAll)
        try await firer.fireDue(term: term)
        let onceFired = try await self.fires(once.scheduleID)
        XCTAssertEqual(onceFired.map(\.scheduledFor), [once.nextFireAt!], "one task, for the first missed time")
        let skipFired = try await self.fires(skip.scheduleID)
        XCTAssertEqual(skipFired.count, 0)
        let allFired = try await self.fires(all.scheduleID)
        XCTAssertGreaterThanOrEqual(allFired.count, 17, "a task for each missed second")
        XCTAssertEqual(Set(allFired.map(\.scheduledFor)).count, allFired.count)
        for schedule in [once, skip, all] {
            let next = try await self.schedules.schedule(schedule.scheduleID)!.nextFireAt!
            XCTAssertGreaterThan(next, Date().addingTimeInterval(-4), "\(schedule.scheduleID) goes on from now")
        }
    }

    func testOverlapSkipWaitsForThePreviousTask() async throws {
        let type = try await self.harness.type("overlap")
        let term = try await self.harness.lead()
        let schedule = try await self.put("overlap", type: type, dueAgo: 0, overlap: .skip)
        let firer = self.firer()
        try await firer.fireDue(term: term)
        let first = try await self.fires(schedule.scheduleID)
        XCTAssertEqual(first.count, 1)
        // Due again while the first task is unfinished: no task.
        try await self.dueAgain(schedule)
        try await firer.fireDue(term: term)
        let skipped = try await self.fires(schedule.scheduleID)
        XCTAssertEqual(skipped.count, 1, "skipped while the previous task is unfinished")
        // Finished: the next fire creates its task.
        try await self.succeed(first[0].taskID)
        try await self.dueAgain(schedule)
        try await firer.fireDue(term: term)
        let next = try await self.fires(schedule.scheduleID)
        XCTAssertEqual(next.count, 2)
    }

    func testOverlapCancelPreviousSupersedesAnUnfinishedTask() async throws {
        let type = try await self.harness.type("supersede")
        let term = try await self.harness.lead()
        let schedule = try await self.put("supersede", type: type, dueAgo: 0, overlap: .cancelPrevious)
        let firer = self.firer()
        try await firer.fireDue(term: term)
        let first = try await self.fires(schedule.scheduleID)
        XCTAssertEqual(first.count, 1)
        // The first task runs on a worker, and a task created with it waits on it.
        let worker = "\(self.harness.prefix)-w"
        let started = try await self.harness.tasks.start([first[0].taskID], workerID: worker, now: Date().roundedToMicroseconds)
        XCTAssertEqual(started.count, 1)
        let now = Date().roundedToMicroseconds
        let dependent = try await self.harness.tasks.insertWithDependencies(
            [TaskRecord(taskID: TaskID.make(), taskType: type, priority: .normal, payload: [:], status: .waiting, maxRetries: 0, timeoutSeconds: 60, createdAt: now, updatedAt: now)], dependsOn: [[.task(first[0].taskID)]], now: now
        )[0]

        // Due again (three fire times missed together) while it runs: one
        // new task, the running one cancelled with its dependent, its worker told.
        try await self.harness.mysql.execute(
            "UPDATE schedule SET next_fire_at = ?, misfire = ? WHERE schedule_id = ?",
            [.date(Date().addingTimeInterval(-2.5).roundedToMicroseconds), .int(Int64(ScheduleRecord.Misfire.runAll.rawValue)), .string(schedule.scheduleID)]
        )
        try await firer.fireDue(term: term)
        let second = try await self.fires(schedule.scheduleID)
        XCTAssertEqual(second.count, 2, "fire times missed together run one task")
        let previous = try await self.harness.tasks.task(first[0].taskID)
        XCTAssertEqual(previous?.status, .cancelled)
        XCTAssertTrue(previous?.error?.contains("superseded by the schedule's fire") ?? false, "\(previous?.error ?? "nil")")
        let waiting = try await self.harness.tasks.task(dependent.taskID)
        XCTAssertEqual(waiting?.status, .cancelled, "its dependent ends with it")
        let logs = try await self.harness.tasks.logs(first[0].taskID, afterID: 0, limit: 10)
        XCTAssertTrue(logs.contains { $0.message.contains("cancelled by schedule \(schedule.scheduleID)") }, "\(logs.map(\.message))")
        let notices = try await self.harness.inspector.members(.cancels(worker))
        XCTAssertEqual(notices.count, 1, "the running attempt's worker is told to abort it")
        // (Its fire time is the latest of the missed ones: earlier than the first's, which was due a second later.)
        let fresh = second.first { $0.taskID != first[0].taskID }!
        let newest = try await self.harness.tasks.task(fresh.taskID)
        XCTAssertEqual(newest?.status, .queued)
        let queued = try await self.harness.inspector.entries(.queue(.normal)).filter { $0.taskID == fresh.taskID }
        XCTAssertEqual(queued.count, 1)

        // The new task finished: the next fire cancels nothing.
        try await self.succeed(fresh.taskID)
        try await self.dueAgain(schedule)
        try await firer.fireDue(term: term)
        let third = try await self.fires(schedule.scheduleID)
        XCTAssertEqual(third.count, 3)
        let untouched = try await self.harness.tasks.task(fresh.taskID)
        XCTAssertEqual(untouched?.status, .succeeded)
    }

    func testPausedSchedulesDoNotFireAndADisabledTypeSkipsItsFire() async throws {
        let type = try await self.harness.type("paused")
        let term = try await self.harness.lead()
        let paused = try await self.put("paused", type: type, dueAgo: 0, paused: true)
        let firer = self.firer()
        try await firer.fireDue(term: term)
        let none = try await self.fires(paused.scheduleID)
        XCTAssertEqual(none.count, 0)
        let pending = try await self.schedules.schedule(paused.scheduleID)?.nextFireAt
        XCTAssertEqual(pending, paused.nextFireAt, "its pending time waits for the resume")

        var config = try await self.harness.configs.config(type)!
        config.enabled = false
        try await self.harness.configs.put(config)
        let live = try await self.put("disabled", type: type, dueAgo: 0)
        try await firer.fireDue(term: term)
        let skipped = try await self.fires(live.scheduleID)
        XCTAssertEqual(skipped.count, 0)
        let moved = try await self.schedules.schedule(live.scheduleID)?.nextFireAt
        XCTAssertEqual(moved, live.nextFireAt!.addingTimeInterval(1), "the fire time passes without a task")
    }

    func testTheFirerLoopFiresEachSecondOnce() async throws {
        let type = try await self.harness.type("loop")
        let term = try await self.harness.lead()
        let schedule = try await self.put("loop", type: type, dueAgo: 0)
        let firer = self.firer()
        let running = Task { try await firer.run(term: term) }
        try await Task.sleep(for: .milliseconds(3_300))
        running.cancel()
        _ = await running.result
        let fired = try await self.fires(schedule.scheduleID)
        let seconds = fired.map { $0.scheduledFor.timeIntervalSince(schedule.nextFireAt!) }
        XCTAssertGreaterThanOrEqual(fired.count, 3, "\(seconds)")
        XCTAssertEqual(seconds, (0..<fired.count).map(Double.init), "every second once, none skipped")
    }

    func testTriggerCreatesATaskOutsideTheFireTimes() async throws {
        let type = try await self.harness.type("trigger")
        let schedule = try await self.put("trigger", type: type, dueAgo: -3600, paused: true)
        let now = Date().roundedToMicroseconds
        let fired = try await self.schedules.trigger(schedule, task: schedule.task(scheduledFor: now, config: nil, now: now))
        XCTAssertEqual(fired?.created.count, 1)
        let after = try await self.schedules.schedule(schedule.scheduleID)!
        XCTAssertEqual(after.lastTaskID, fired?.created.first?.taskID)
        XCTAssertEqual(after.nextFireAt, schedule.nextFireAt, "the cron times are untouched")
        let listed = try await self.harness.tasks.list(TaskQuery(scheduleID: schedule.scheduleID), afterID: nil, limit: 10)
        XCTAssertEqual(listed.map(\.taskID), fired?.created.map(\.taskID))
    }

    func testTheLeadersQuestionsReadTheHeadOfTheDueIndex() async throws {
        for (sql, binds) in [(ScheduleStore.nextDueQuery, [MySQLValue]()), (ScheduleStore.dueQuery, [.date(Date()), .int(100)])] {
            let plan = try await self.harness.mysql.query("EXPLAIN " + sql, binds)
            XCTAssertEqual(plan.first?.string("key"), "idx_schedule_due", sql)
            XCTAssertFalse((plan.first?.string("Extra") ?? "").contains("filesort"), sql)
        }
        let list = try await self.harness.mysql.query(
            "EXPLAIN " + TaskStore.scheduleIDsQuery(oldestFirst: false, after: true), [.string("s"), .string("x"), .int(10)]
        )
        XCTAssertEqual(list.first?.string("key"), "idx_schedule_fire_task")
        XCTAssertFalse((list.first?.string("Extra") ?? "").contains("filesort"))
    }

    func testFireRecordsGoWithTheirTypesRetention() async throws {
        let type = try await self.harness.type("history")
        var config = try await self.harness.configs.config(type)!
        config.retentionHours = 1
        try await self.harness.configs.put(config)
        let schedule = try await self.put("history", type: type, dueAgo: 0)
        let now = Date().roundedToMicroseconds
        for hoursAgo in [0.0, 0.5, 2, 3] {
            try await self.harness.mysql.execute(
                "INSERT INTO schedule_fire (schedule_id, scheduled_for, task_id) VALUES (?, ?, ?)",
                [.string(schedule.scheduleID), .date(now.addingTimeInterval(-hoursAgo * 3600)), .string(TaskID.make())]
            )
        }
        var configuration = RetentionJanitor.Configuration()
        configuration.fireBatchSize = 1
        let janitor = RetentionJanitor(
            tasks: self.harness.tasks, configs: self.harness.configs, schedules: self.schedules, clock: { now }, configuration: configuration,
            logger: self.harness.logger
        )
        let pruned = try await janitor.pruneScheduleHistory()
        XCTAssertGreaterThanOrEqual(pruned, 2)
        let left = try await self.harness.mysql.query(
            "SELECT scheduled_for FROM schedule_fire WHERE schedule_id = ? ORDER BY scheduled_for", [.string(schedule.scheduleID)]
        ).compactMap { $0.date("scheduled_for") }
        XCTAssertEqual(left, [now.addingTimeInterval(-1800), now], "records within the type's retention stay")
        let plan = try await self.harness.mysql.query(
            "EXPLAIN DELETE FROM schedule_fire WHERE schedule_id = ? AND scheduled_for < ? ORDER BY scheduled_for LIMIT ?",
            [.string(schedule.scheduleID), .date(now), .int(10)]
        )
        XCTAssertEqual(plan.first?.string("key"), "PRIMARY")
    }
}

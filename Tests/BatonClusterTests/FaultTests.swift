import BatonBroker
import BatonModel
import BatonMySQL
import BatonRedis
import BatonScheduler
import BatonStore
import BatonTestSupport
@testable import BatonWorker
import Foundation
import Logging
import XCTest

/// Each fault of the task path, broken on purpose against real Redis and
/// MariaDB: restarted nodes, a leader that could not see heartbeats, a MySQL
/// failure between recovery steps, deposed leaders, lost answers, skewed clocks.
final class FaultTests: XCTestCase {
    private var harness: SchedulerHarness!

    override func setUp() async throws { self.harness = try await SchedulerHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    /// Takes `count` new tasks into `worker`'s in-flight list and starts them, as its consumer would.
    private func running(_ count: Int, type: String, worker: String) async throws -> [TaskRecord] {
        let created = try await self.harness.create(count, type: type)
        for _ in created {
            try await self.harness.inspector.moveHead(from: .queue(.normal), to: .inFlight(worker))
        }
        try await self.harness.inspector.addInUse(type, count)
        return try await self.harness.tasks.start(created.map(\.taskID), workerID: worker, now: Date().roundedToMicroseconds)
    }

    private func recoverer(ttl: Duration = .seconds(60), interval: Duration = .seconds(1), tasks: TaskStore? = nil) -> DeadWorkerRecoverer {
        var configuration = DeadWorkerRecoverer.Configuration()
        configuration.heartbeatTTL = ttl
        configuration.interval = interval
        return DeadWorkerRecoverer(broker: self.harness.broker, tasks: tasks ?? self.harness.tasks, configuration: configuration, logger: self.harness.logger)
    }

    private func status(_ id: String) async throws -> TaskStatus? {
        try await self.harness.tasks.task(id)?.status
    }

    func testARestartedNodesPreviousWorkerIsReclaimedAtOnce() async throws {
        let type = try await self.harness.type("restart")
        let broker = self.harness.broker
        let node = "\(self.harness.prefix)-node"
        let old = "\(node)-worker-aaaaaa"
        let new = "\(node)-worker-bbbbbb"
        let first = try await broker.registerWorker(nodeID: node, workerID: old)
        XCTAssertNil(first)
        try await self.harness.registerWorker(old, capacity: 10)
        let started = try await self.running(2, type: type, worker: old)
        XCTAssertEqual(started.count, 2)

        // The process dies and comes back at once under a new incarnation.
        let previous = try await broker.registerWorker(nodeID: node, workerID: new)
        XCTAssertEqual(previous, old)
        let oldBeats = try await broker.heartbeat(workerID: old, ttl: .seconds(60), registration: WorkerRegistration(nodeID: node, capacity: 10))
        XCTAssertFalse(oldBeats, "a retired incarnation's heartbeat is refused")

        // The old heartbeat is fresh, yet the leader reclaims it without waiting a TTL.
        let term = try await self.harness.lead()
        let reclaimed = try await self.recoverer().recoverOnce(term: term, mayDeclare: false)
        XCTAssertEqual(reclaimed, [old])
        for task in started {
            let row = try await self.harness.tasks.task(task.taskID)!
            XCTAssertEqual(row.status, .queued)
            XCTAssertEqual(row.workerLosses, 1)
            XCTAssertEqual(row.attempt, 1, "the next start makes attempt 2 without spending a retry")
        }
        let queue = try await self.harness.inspector.entries(.queue(.normal)).map(\.taskID)
        XCTAssertEqual(queue.count, 2)
        XCTAssertEqual(Set(queue), Set(started.map(\.taskID)))
        let inUse = try await self.harness.inspector.inUse(type)
        XCTAssertEqual(inUse, 0)
        let again = try await self.recoverer().recoverOnce(term: term, mayDeclare: false)
        XCTAssertEqual(again, [], "done once")
    }

    func testALeaderWaitsOneTTLBeforeDeclaringAnyoneDead() async throws {
        let type = try await self.harness.type("window")
        let worker = "\(self.harness.prefix)-w"
        try await self.harness.registerWorker(worker, capacity: 10)
        let started = try await self.running(1, type: type, worker: worker)
        let term = try await self.harness.lead()
        let declared = try await self.harness.broker.declareDead(workerID: worker, ttl: .seconds(1), fence: term.lockValue)
        XCTAssertFalse(declared, "a fresh heartbeat is re-checked inside Redis")

        // The heartbeat looks 5 s old, as after a Redis stall; a TTL of 1.5 s.
        try await self.harness.age(worker: worker, by: 5)
        let recoverer = self.recoverer(ttl: .milliseconds(1500), interval: .milliseconds(100))
        let leading = Task { try await recoverer.run(term: term) }
        defer { leading.cancel() }
        try await Task.sleep(for: .milliseconds(1000))
        let during = try await self.harness.inspector.score(of: worker, in: .workers)
        XCTAssertNotNil(during, "declared dead before the leader watched one TTL")
        let reclaimed = try await TestEnvironment.waitUntil(timeout: .seconds(3), every: .milliseconds(50)) {
            try await self.status(started[0].taskID) == .queued
        }
        XCTAssertTrue(reclaimed)
    }

    func testRecoveryResumesAfterMySQLFailsBetweenItsSteps() async throws {
        let type = try await self.harness.type("midway")
        let worker = "\(self.harness.prefix)-w"
        try await self.harness.registerWorker(worker, capacity: 10)
        let started = try await self.running(2, type: type, worker: worker)
        try await self.harness.age(worker: worker, by: 60)
        let term = try await self.harness.lead()

        // MySQL unreachable at the second step.
        var unreachable = try MySQLConfiguration(url: "mysql://baton:x@127.0.0.1:1/baton_test")
        unreachable.connectTimeout = .milliseconds(200)
        let broken = MySQLClient(configuration: unreachable, logger: self.harness.logger)
        do {
            _ = try await self.recoverer(tasks: TaskStore(mysql: broken)).recoverOnce(term: term)
            XCTFail("the MySQL step must fail")
        } catch {}
        try await broken.shutdown()
        // Declared dead, but nothing requeued while the rows still say RUNNING.
        let inFlight = try await self.harness.inspector.members(.inFlight(worker))
        XCTAssertEqual(inFlight.count, 2)
        let queued = try await self.harness.inspector.members(.queue(.normal))
        XCTAssertEqual(queued, [])
        for task in started {
            let value1 = try await self.status(task.taskID)
            XCTAssertEqual(value1, .running)
        }
        let beats = try await self.harness.broker.heartbeat(workerID: worker, ttl: .seconds(60), registration: WorkerRegistration(nodeID: "test", capacity: 10))
        XCTAssertFalse(beats, "a worker declared dead stays fenced")

        let resumed = try await self.recoverer().recoverOnce(term: term, mayDeclare: false)
        XCTAssertEqual(resumed, [worker])
        for task in started {
            let row = try await self.harness.tasks.task(task.taskID)!
            XCTAssertEqual(row.status, .queued)
            XCTAssertEqual(row.workerLosses, 1)
        }
        let requeued = try await self.harness.inspector.entries(.queue(.normal)).map(\.taskID)
        XCTAssertEqual(requeued.count, 2)
        XCTAssertEqual(Set(requeued), Set(started.map(\.taskID)))
    }

    func testADeposedLeadersWritesDoNotLand() async throws {
        let type = try await self.harness.type("deposed")
        let worker = "\(self.harness.prefix)-w"
        let started = try await self.running(2, type: type, worker: worker)
        let old = try await self.harness.lead()
        let current = try await self.harness.lead()
        XCTAssertGreaterThan(current.epoch, old.epoch)

        let now = Date().roundedToMicroseconds
        let failed = try await self.harness.tasks.recordWorkerLoss([started[0].taskID], workerID: worker, cap: 3, now: now, fence: old.fence).failed
        XCTAssertEqual(failed, [])
        let value2 = try await self.status(started[0].taskID)
        XCTAssertEqual(value2, .running, "an old epoch's MySQL write is refused")
        let timedOut = try await self.harness.tasks.recordLeaderOutcome(started[1].taskID, tenant: Tenant.default, attempt: 1, status: .timeout, now: now, fence: old.fence)
        XCTAssertNil(timedOut)
        do {
            try await self.harness.broker.acknowledge(workerID: worker, [(QueueEntry(started[1]), 0)], fence: old.lockValue)
            XCTFail("an old leader's acknowledgement must be refused")
        } catch {}
        let stillInFlight = try await self.harness.inspector.members(.inFlight(worker))
        XCTAssertEqual(stillInFlight.count, 2)

        _ = try await self.harness.tasks.recordWorkerLoss([started[0].taskID], workerID: worker, cap: 3, now: now, fence: current.fence)
        let value3 = try await self.status(started[0].taskID)
        XCTAssertEqual(value3, .queued, "the current epoch's write lands")
    }

    func testTheLeaderEpochNeverGoesBackwardsWhenRedisLosesItsData() async throws {
        let epochs = LeaderEpochStore(mysql: self.harness.mysql)
        var configuration = Elector.Configuration()
        configuration.lockTTL = .seconds(5)
        configuration.renewInterval = .milliseconds(200)
        func leadOnce() async throws -> LeaderState.Term {
            let state = LeaderState()
            let elector = Elector(broker: self.harness.broker, epochs: epochs, nodeID: "epoch-test", state: state,
                                  configuration: configuration, logger: self.harness.logger)
            let running = Task { try await elector.run() }
            defer { running.cancel() }
            let led = try await TestEnvironment.waitUntil(timeout: .seconds(5)) { state.current != nil }
            XCTAssertTrue(led)
            return state.current!
        }
        let first = try await leadOnce()
        // Redis loses its data: the lock and the epoch counter are gone.
        try await self.harness.inspector.dropLeadership()
        let second = try await leadOnce()
        XCTAssertGreaterThan(second.epoch, first.epoch)
        XCTAssertEqual(second.fence?.epoch, second.epoch)
        let redisEpoch = try await self.harness.inspector.leaderEpoch()
        XCTAssertEqual(redisEpoch, second.epoch)
    }

    func testARetriedStartClaimsWhatALostTryStarted() async throws {
        let type = try await self.harness.type("claim")
        let ids = try await self.harness.create(3, type: type).map(\.taskID)
        let lost = Date().addingTimeInterval(-1).roundedToMicroseconds
        // The first try committed, but its answer never came back.
        _ = try await self.harness.tasks.start(Array(ids.prefix(2)), workerID: "w1", now: lost)
        let now = Date().roundedToMicroseconds
        let started = try await self.harness.tasks.start(ids, workerID: "w1", now: now, earlier: [lost])
        XCTAssertEqual(Set(started.map(\.taskID)), Set(ids))
        XCTAssertTrue(started.allSatisfy { $0.attempt == 1 && $0.startedAt == now }, "claimed rows start now")
        // Another worker's lost try is not claimed.
        let other = try await self.harness.tasks.start(ids, workerID: "w2", now: Date().roundedToMicroseconds, earlier: [lost, now])
        XCTAssertEqual(other, [])
    }

    func testARetriedOutcomeWriteCountsWhatALostTryWrote() async throws {
        let type = try await self.harness.type("outcome")
        let ids = try await self.harness.create(2, type: type).map(\.taskID)
        _ = try await self.harness.tasks.start(ids, workerID: "w1", now: Date().roundedToMicroseconds)
        let attempts = ids.map { FinishedAttempt(taskID: $0, attempt: 1, status: .retrying, error: "later", tenant: Tenant.default) }
        let lost = Date().roundedToMicroseconds
        _ = try await self.harness.tasks.recordWorkerOutcomes([attempts[0]], workerID: "w1", now: lost)
        let applied = try await self.harness.tasks.recordWorkerOutcomes(attempts, workerID: "w1", now: Date().addingTimeInterval(0.001).roundedToMicroseconds, earlier: [lost]).applied
        XCTAssertEqual(applied, Set(ids), "the retry must know its first row was written, or the retry is never scheduled")
    }

    func testScheduledNeverOverwritesRetrying() async throws {
        let type = try await self.harness.type("marks")
        let created = try await self.harness.create(2, type: type)
        let dispatched = Date().roundedToMicroseconds
        // The first starts and fails after its dispatch; the second waits on the worker.
        _ = try await self.harness.tasks.start([created[0].taskID], workerID: "w1", now: dispatched.addingTimeInterval(0.001))
        _ = try await self.harness.tasks.recordLeaderOutcome(created[0].taskID, tenant: Tenant.default, attempt: 1, status: .retrying, error: "503", now: dispatched.addingTimeInterval(0.002))
        try await self.harness.tasks.markScheduled(
            created.map { ($0.taskID, "w1", dispatched) }, now: dispatched.addingTimeInterval(0.05), fence: nil
        )
        let value4 = try await self.status(created[0].taskID)
        XCTAssertEqual(value4, .retrying, "RETRYING holds for the whole backoff")
        let value5 = try await self.status(created[1].taskID)
        XCTAssertEqual(value5, .scheduled)
    }

    /// Rounds of several workers in one call: each row names its own worker;
    /// a row touched after its worker's earliest round stays as it is.
    func testScheduledMarksNameEachWorkerAndSkipRowsTouchedSinceTheirRound() async throws {
        let type = try await self.harness.type("marks-workers")
        let created = try await self.harness.create(4, type: type)
        let first = Date().roundedToMicroseconds
        let second = first.addingTimeInterval(0.01)
        // Task 3 is retried (its row touched) between w2's two rounds.
        try await self.harness.mysql.execute(
            "UPDATE task SET updated_at = ? WHERE task_id = ?", [.date(first.addingTimeInterval(0.005)), .string(created[3].taskID)]
        )
        try await self.harness.tasks.markScheduled(
            [(created[0].taskID, "w1", first), (created[1].taskID, "w2", first), (created[2].taskID, "w1", second), (created[3].taskID, "w2", second)],
            now: second.addingTimeInterval(0.05), fence: nil
        )
        var marked: [String?] = []
        for task in created {
            let row = try await self.harness.tasks.task(task.taskID)
            marked.append(row?.status == .scheduled ? row?.workerID : nil)
        }
        XCTAssertEqual(marked, ["w1", "w2", "w1", nil])
    }

    func testTheFaultPathsStatementsReadByIndex() async throws {
        let type = try await self.harness.type("plans")
        // Enough finished rows that a scan of the table would show.
        let now = Date().roundedToMicroseconds
        let finished = (0..<2000).map { _ in
            TaskRecord(taskID: TaskID.make(), taskType: type, priority: .normal, payload: [:], status: .succeeded,
                       maxRetries: 0, timeoutSeconds: 30, createdAt: now, updatedAt: now)
        }
        try await self.harness.tasks.insert(finished)
        let ids = try await self.harness.create(3, type: type).map(\.taskID)
        let term = try await self.harness.lead()
        func rowsRead(_ what: String, _ body: () async throws -> Void) async throws {
            let counters = "SHOW GLOBAL STATUS WHERE Variable_name IN ('Handler_read_rnd_next', 'Handler_read_next', 'Handler_read_prev', 'Handler_read_key')"
            let before = try await self.harness.mysql.query(counters).compactMap { $0.int("Value") }.reduce(0, +)
            try await body()
            let after = try await self.harness.mysql.query(counters).compactMap { $0.int("Value") }.reduce(0, +)
            XCTAssertLessThan(after - before, 200, "\(what) read \(after - before) rows")
        }
        let lost = Date().addingTimeInterval(-1).roundedToMicroseconds
        try await rowsRead("a start claiming a lost try") {
            _ = try await self.harness.tasks.start(ids, workerID: "w1", now: now, earlier: [lost])
        }
        try await rowsRead("a retried outcome write") {
            let attempts = ids.map { FinishedAttempt(taskID: $0, attempt: 1, status: .succeeded, tenant: Tenant.default) }
            _ = try await self.harness.tasks.recordWorkerOutcomes(attempts, workerID: "w1", now: now.addingTimeInterval(0.01), earlier: [lost])
        }
        try await rowsRead("fenced SCHEDULED marks") {
            try await self.harness.tasks.markScheduled(ids.map { ($0, "w1", now) }, now: now, fence: term.fence)
        }
        try await rowsRead("a fenced worker loss") {
            _ = try await self.harness.tasks.recordWorkerLoss(ids, workerID: "w1", cap: 3, now: now, fence: term.fence)
        }
        try await rowsRead("a stale sweep page") {
            _ = try await self.harness.tasks.stale(
                status: .queued, before: now.addingTimeInterval(1), after: .init(tenant: "", taskID: ""), limit: 50
            )
        }
        try await rowsRead("the epoch claim") {
            _ = try await LeaderEpochStore(mysql: self.harness.mysql).claim(cluster: self.harness.keys.namespace, epoch: term.epoch + 1, now: now)
        }
    }

    func testTheClusterClockFollowsRedisNotTheLocalClock() async throws {
        let clock = ClusterClock()
        // As if this node's clock were 30 s behind.
        clock.set(Date().addingTimeInterval(-30))
        XCTAssertLessThan(clock.now().timeIntervalSinceNow, -29)
        let client = try RedisClient(url: TestEnvironment.redisURL, logger: self.harness.logger)
        try await clock.sync(client)
        try await client.shutdown()
        let redis = try await self.harness.inspector.serverTime()
        XCTAssertEqual(clock.now().timeIntervalSince1970, redis, accuracy: 0.05)
        // It runs on the monotonic clock between readings.
        try await Task.sleep(for: .milliseconds(200))
        let later = try await self.harness.inspector.serverTime()
        XCTAssertEqual(clock.now().timeIntervalSince1970, later, accuracy: 0.05)
        // Within a millisecond: Redis's time read between two readings of
        // the clock falls between them (nodes' timestamps are compared: a
        // dependent's start with its parent's end).
        let before = clock.now().timeIntervalSince1970
        let between = try await self.harness.inspector.serverTime()
        let after = clock.now().timeIntervalSince1970
        XCTAssertGreaterThanOrEqual(between, before - 0.001)
        XCTAssertLessThanOrEqual(between, after + 0.001)
    }
}

/// A worker's start batch holding one task twice runs it once and leaks no
/// in-flight entry or type slot.
final class WorkerDuplicateEntryTests: XCTestCase {
    func testADuplicatedEntryRunsOnceAndLeaksNothing() async throws {
        let harness = try await WorkerHarness(capacity: 4)
        let type = try await harness.type("twice", handler: "echo")
        let now = Date().roundedToMicroseconds
        let task = TaskRecord(taskID: TaskID.make(), taskType: type, priority: .normal, payload: [:], status: .queued,
                              maxRetries: 0, timeoutSeconds: 30, createdAt: now, updatedAt: now)
        try await harness.base.tasks.insert([task])
        let workerID = harness.worker.configuration.workerID
        // Dispatched twice (as a requeue race could), both waiting on the worker's queue.
        try await harness.base.inspector.addInUse(type, 2)
        try await harness.base.inspector.push([QueueEntry(task).member, QueueEntry(task).member], onto: .workerQueue(workerID, .normal))
        let done = try await TestEnvironment.waitUntil(timeout: .seconds(10)) { try await harness.task(task.taskID).status == .succeeded }
        XCTAssertTrue(done)
        let settled = try await TestEnvironment.waitUntil(timeout: .seconds(5)) {
            let inFlight = try await harness.base.inspector.members(.inFlight(workerID))
            let inUse = try await harness.base.inspector.inUse(type)
            return inFlight.isEmpty && inUse == 0
        }
        XCTAssertTrue(settled, "an in-flight entry or a type slot leaked")
        let value6 = try await harness.task(task.taskID).attempt
        XCTAssertEqual(value6, 1)
        try await harness.shutdown()
    }
}

/// A worker the leader declared dead while it was cut off stops its attempts
/// (they run elsewhere) and ends, so the node restarts as a new incarnation.
final class WorkerFencingTests: XCTestCase {
    func testAWorkerDeclaredDeadStopsAndRecordsNothing() async throws {
        let harness = try await WorkerHarness(capacity: 2)
        let type = try await harness.type("fenced", handler: "sleep")
        let task = try await harness.create(type: type, payload: ["ms": "20000"])
        let started = try await TestEnvironment.waitUntil(timeout: .seconds(10)) { try await harness.task(task.taskID).status == .running }
        XCTAssertTrue(started)
        // The leader declares it dead and gives the task back (MySQL first).
        let term = try await harness.base.lead()
        let workerID = harness.worker.configuration.workerID
        try await harness.base.age(worker: workerID, by: 60)
        var configuration = DeadWorkerRecoverer.Configuration()
        configuration.heartbeatTTL = .seconds(9)
        let recoverer = DeadWorkerRecoverer(broker: harness.base.broker, tasks: harness.base.tasks, configuration: configuration, logger: harness.base.logger)
        let reclaimed = try await recoverer.recoverOnce(term: term)
        XCTAssertEqual(reclaimed, [workerID])
        let stopped = try await TestEnvironment.waitUntil(timeout: .seconds(5)) { harness.ended.error != nil }
        XCTAssertTrue(stopped, "a fenced worker must stop")
        XCTAssertTrue((harness.ended.error ?? "").contains("declared dead"))
        let row = try await harness.task(task.taskID)
        XCTAssertEqual(row.status, .queued, "the stopped attempt records nothing over the recovery")
        XCTAssertEqual(row.workerLosses, 1)
        try await harness.shutdown()
    }
}

/// Outcomes written while MariaDB is down are not dropped: they land when it returns.
final class OutcomeOutageTests: XCTestCase {
    private let server = PrivateServer(.mysql, port: 13307, name: "outcome-outage-test")
    private var port: Int { self.server.port }

    override func tearDown() async throws {
        try self.server.stop()
    }

    func testAnOutcomeWaitsForMySQLToReturn() async throws {
        let logger = Logger(label: "outcome-outage")
        let mysql = try await self.server.startMigrated(logger: logger)
        let redis = try RedisClient(url: TestEnvironment.redisURL, logger: logger)
        let keys = RedisKeys(namespace: TestEnvironment.uniqueName("outage"))
        let broker = RedisBroker(redis: redis, keys: keys)
        let inspector = BrokerInspector(broker)
        let tasks = TaskStore(mysql: mysql)
        let now = Date().roundedToMicroseconds
        let task = TaskRecord(taskID: TaskID.make(), taskType: "echo", priority: .normal, payload: [:], status: .queued,
                              maxRetries: 0, timeoutSeconds: 60, createdAt: now, updatedAt: now)
        try await tasks.insert([task])
        try await inspector.push([QueueEntry(task).member], onto: .inFlight("w1"))
        _ = try await tasks.start([task.taskID], workerID: "w1", now: now)

        let recorder = OutcomeRecorder(workerID: "w1", tasks: tasks, broker: broker, logger: logger)
        let writer = Task { await recorder.run() }
        try self.server.stop()
        let attempt = FinishedAttempt(taskID: task.taskID, attempt: 1, status: .succeeded, result: "done", tenant: Tenant.default)
        let outcome = Task { try await recorder.record(.init(attempt: attempt, entry: QueueEntry(task), retryDue: 0, lease: .distantFuture)) }
        try await Task.sleep(for: .seconds(2))
        try self.server.start()
        let applied = try await outcome.value
        XCTAssertTrue(applied)
        let value7 = try await tasks.task(task.taskID)?.status
        XCTAssertEqual(value7, .succeeded)
        await recorder.flush(timeout: .seconds(5))
        let left = try await inspector.count(.inFlight("w1"))
        XCTAssertEqual(left, 0)
        writer.cancel()
        await writer.value
        try await mysql.execute("DELETE FROM task WHERE task_id = ?", [.string(task.taskID)])
        try await inspector.clear(.inFlight("w1"))
        try await redis.shutdown()
        try await mysql.shutdown()
    }
}

/// A task type's configuration that cannot be read when an attempt starts
/// (MariaDB restarting) is read again within the attempt's time; what
/// reaches the task's error names the failure, never a host, a port or a
/// server's message (issue 26, item 13).
final class ConfigOutageTests: XCTestCase {
    private let server = PrivateServer(.mysql, port: 13308, name: "config-outage-test")

    override func tearDown() async throws {
        try self.server.stop()
    }

    func testAnAttemptWaitsForItsConfigurationAndNeverShowsStoreInternals() async throws {
        let logger = Logger(label: "config-outage")
        let mysql = try await self.server.startMigrated(logger: logger)
        let configs = TaskConfigStore(mysql: mysql)
        let harness = try await WorkerHarness(capacity: 2, configStore: configs)
        let type = "\(harness.base.prefix)_cfg"
        try await configs.put(TaskConfigRecord(taskType: type, executor: .local, endpoint: "sleep", timeoutSeconds: 10, maxRetries: 0, retryBackoffMs: 100))

        try self.server.stop()
        let waits = try await harness.create(type: type, payload: ["ms": "10"], timeout: 10)
        try await Task.sleep(for: .milliseconds(1500))
        let waiting = try await harness.task(waits.taskID).status
        XCTAssertEqual(waiting, .running, "the attempt waits for its configuration")
        try self.server.start()
        let ran = try await TestEnvironment.waitUntil(timeout: .seconds(15)) { try await harness.task(waits.taskID).status.isTerminal }
        XCTAssertTrue(ran)
        let done = try await harness.task(waits.taskID)
        XCTAssertEqual(done.status, .succeeded, done.error ?? "")
        XCTAssertEqual(done.attempt, 1)

        try self.server.stop()
        let gives = try await harness.create(type: type, payload: ["ms": "10"], timeout: 2)
        let ended = try await TestEnvironment.waitUntil(timeout: .seconds(15)) { try await harness.task(gives.taskID).status.isTerminal }
        XCTAssertTrue(ended)
        let failed = try await harness.task(gives.taskID)
        XCTAssertEqual(failed.status, .failed)
        let error = failed.error ?? ""
        XCTAssertEqual(error, "task type configuration unavailable (the configuration store did not answer)")
        XCTAssertFalse(error.contains("127.0.0.1") || error.contains(String(self.server.port)), error)
        try await harness.shutdown()
        try await mysql.shutdown()
    }
}

extension PrivateServer {
    /// Starts this MariaDB and returns a migrated client of it that gives up
    /// a connect after a second (it is stopped on purpose).
    func startMigrated(logger: Logger) async throws -> MySQLClient {
        try self.start()
        var configuration = try MySQLConfiguration(url: "mysql://baton:\(TestEnvironment.mysqlPassword)@127.0.0.1:\(self.port)/baton_test")
        configuration.connectTimeout = .seconds(1)
        let mysql = MySQLClient(configuration: configuration, logger: logger)
        try await MySQLMigrator(directory: TestEnvironment.migrationsDirectory, logger: logger).migrate(mysql)
        return mysql
    }
}

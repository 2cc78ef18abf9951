import BatonBroker
import BatonModel
import BatonRedis
import BatonScheduler
import BatonTestSupport
import Foundation
import XCTest

final class DispatcherTests: XCTestCase {
    private var harness: SchedulerHarness!

    override func setUp() async throws { self.harness = try await SchedulerHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    private func dispatcher(batch: Int = 100, strategy: DispatchStrategy = .leastTask, weights: (Int, Int) = (0, 0)) -> Dispatcher {
        var configuration = Dispatcher.Configuration()
        configuration.batchSize = batch
        configuration.strategy = strategy
        configuration.weights = weights
        configuration.heartbeatTTL = .seconds(60)
        return Dispatcher(broker: self.harness.broker, tasks: self.harness.tasks, configs: self.harness.configs, configuration: configuration, logger: self.harness.logger)
    }

    func testHighBeforeNormalAndScheduledInMySQL() async throws {
        let type = try await self.harness.type("prio")
        let normal = try await self.harness.create(5, type: type, priority: .normal)
        let high = try await self.harness.create(5, type: type, priority: .high)
        try await self.harness.registerWorker("w1", capacity: 100)
        let term = try await self.harness.lead()
        let moved = try await self.dispatcher().dispatchOnce(term: term)
        XCTAssertEqual(moved, 10)
        let order = try await self.harness.inspector.waitingOn(worker: "w1").map(\.taskID)
        XCTAssertEqual(order, high.map(\.taskID) + normal.map(\.taskID))
        let rows = try await self.harness.mysql.query(
            "SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND status = ? AND worker_id = 'w1'",
            [.string(type), .int(Int64(TaskStatus.scheduled.rawValue))]
        )
        XCTAssertEqual(rows.first?.int("n"), 10)
        let queues = try await self.harness.inspector.members(.queue(.high)) + self.harness.inspector.members(.queue(.normal))
        XCTAssertEqual(queues, [])
    }

    func testHighOvertakesNormalAlreadyOnAWorker() async throws {
        let type = try await self.harness.type("overtake")
        try await self.harness.registerWorker("w1", capacity: 100)
        let term = try await self.harness.lead()
        let normal = try await self.harness.create(5, type: type)
        try await self.dispatcher().dispatchOnce(term: term)
        let high = try await self.harness.create(2, type: type, priority: .high)
        try await self.dispatcher().dispatchOnce(term: term)
        // The worker takes what it holds high first, each priority in its order.
        let taken = try await self.harness.broker.take(workerID: "w1", count: 3).map(\.taskID)
        XCTAssertEqual(taken, high.map(\.taskID) + [normal[0].taskID])
        let inFlight = try await self.harness.inspector.entries(.inFlight("w1")).map(\.taskID)
        XCTAssertEqual(inFlight, taken)
        let bell = try await self.harness.inspector.count(.bell("w1", .normal))
        XCTAssertEqual(bell, 1, "the worker's bell rang, once")
        let highBell = try await self.harness.inspector.count(.bell("w1", .high))
        XCTAssertEqual(highBell, 1, "the high lane's bell rang, once")
    }

    /// The high lane's bell rings only for high work, and the lane takes high work only.
    func testTheHighLaneTakesHighWorkOnly() async throws {
        let type = try await self.harness.type("lane")
        try await self.harness.registerWorker("w1", capacity: 100)
        let term = try await self.harness.lead()
        let normal = try await self.harness.create(3, type: type)
        try await self.dispatcher().dispatchOnce(term: term)
        let quiet = try await self.harness.inspector.count(.bell("w1", .high))
        XCTAssertEqual(quiet, 0, "normal work does not ring the high lane")
        let none = try await self.harness.broker.take(workerID: "w1", count: 10, highOnly: true)
        XCTAssertEqual(none, [])
        let high = try await self.harness.create(2, type: type, priority: .high)
        try await self.dispatcher().dispatchOnce(term: term)
        let rung = try await self.harness.inspector.count(.bell("w1", .high))
        XCTAssertEqual(rung, 1)
        let taken = try await self.harness.broker.take(workerID: "w1", count: 10, highOnly: true).map(\.taskID)
        XCTAssertEqual(taken, high.map(\.taskID))
        let left = try await self.harness.broker.take(workerID: "w1", count: 10).map(\.taskID)
        XCTAssertEqual(left, normal.map(\.taskID))
    }

    func testWeightedModeLetsNormalThrough() async throws {
        let type = try await self.harness.type("weighted")
        try await self.harness.create(20, type: type, priority: .high)
        let normal = try await self.harness.create(20, type: type, priority: .normal)
        try await self.harness.registerWorker("w1", capacity: 1000)
        let term = try await self.harness.lead()
        try await self.dispatcher(batch: 10, weights: (8, 2)).dispatchOnce(term: term)
        let moved = try await self.harness.inspector.waitingOn(worker: "w1")
        XCTAssertEqual(moved.filter { $0.priority == .high }.count, 8)
        XCTAssertEqual(moved.filter { $0.priority == .normal }.map(\.taskID), Array(normal.prefix(2).map(\.taskID)))
    }

    func testAWorkersWindowBoundsWhatItHoldsNotItsCapacity() async throws {
        let type = try await self.harness.type("window")
        try await self.harness.create(100, type: type)
        try await self.harness.registerWorker("w1", capacity: 5, window: 40)
        let term = try await self.harness.lead()
        try await self.dispatcher().dispatchOnce(term: term)
        let held = try await self.harness.inspector.members(.workerQueue("w1", .normal))
        XCTAssertEqual(held.count, 40)
        // High work goes past a full window by the worker's capacity, no further.
        try await self.harness.create(10, type: type, priority: .high)
        try await self.dispatcher().dispatchOnce(term: term)
        let high = try await self.harness.inspector.members(.workerQueue("w1", .high))
        XCTAssertEqual(high.count, 5)
        // A smaller window published later holds what it has and gets no more.
        try await self.harness.broker.publishWindow(workerID: "w1", window: 10)
        try await self.dispatcher().dispatchOnce(term: term)
        let after = try await self.harness.inspector.members(.workerQueue("w1", .normal))
        XCTAssertEqual(after.count, 40)
        let highAfter = try await self.harness.inspector.members(.workerQueue("w1", .high))
        XCTAssertEqual(highAfter.count, 5)
        // A window is never published for a worker that is not registered.
        try await self.harness.broker.publishWindow(workerID: "gone", window: 10)
        let exists = try await self.harness.inspector.hasWorkerRecord("gone")
        XCTAssertFalse(exists)
    }

    func testFencedExLeaderCannotMoveTasks() async throws {
        let type = try await self.harness.type("fence")
        try await self.harness.create(3, type: type)
        try await self.harness.registerWorker("w1", capacity: 10)
        let old = try await self.harness.lead(as: "old|1")
        _ = try await self.harness.lead(as: "new|2")
        do {
            try await self.dispatcher().dispatchOnce(term: old)
            XCTFail("the fenced dispatch should be refused")
        } catch let error as BrokerError {
            XCTAssertTrue(error.message.contains("FENCED"), error.message)
        }
        let left = try await self.harness.inspector.members(.queue(.normal))
        XCTAssertEqual(left.count, 3)
        let onWorker = try await self.harness.inspector.members(.workerQueue("w1", .normal))
        XCTAssertEqual(onWorker, [])
    }

    func testCapacityNeverExceededWithThousandTasks() async throws {
        let type = try await self.harness.type("cap")
        let created = try await self.harness.create(1000, type: type)
        let capacities = ["w-small": 3, "w-mid": 7, "w-big": 15]
        for (id, capacity) in capacities { try await self.harness.registerWorker(id, capacity: capacity) }
        let term = try await self.harness.lead()
        let dispatcher = self.dispatcher(batch: 50)
        var done = 0
        var rounds = 0
        while done < created.count {
            rounds += 1
            try await dispatcher.dispatchOnce(term: term)
            for (id, capacity) in capacities {
                let queue = try await self.harness.inspector.entries(.workerQueue(id, .normal))
                XCTAssertLessThanOrEqual(queue.count, capacity, id)
                // The worker takes one and finishes it: a slot frees.
                guard let first = queue.first else { continue }
                try await self.harness.inspector.moveHead(from: .workerQueue(id, .normal), to: .inFlight(id))
                try await self.harness.broker.acknowledge(workerID: id, [(first, 0)])
                done += 1
            }
        }
        XCTAssertEqual(done, 1000)
        XCTAssertGreaterThan(rounds, 40)
        let inUse = try await self.harness.inspector.inUse(type)
        XCTAssertEqual(inUse, 0)
    }

    func testWorkerTypesAndStrategies() async throws {
        let a = try await self.harness.type("a")
        let b = try await self.harness.type("b")
        try await self.harness.create(4, type: a)
        try await self.harness.create(4, type: b)
        try await self.harness.registerWorker("only-a", capacity: 100, types: [a])
        try await self.harness.registerWorker("only-b", capacity: 100, types: [b])
        let term = try await self.harness.lead()
        try await self.dispatcher(strategy: .roundRobin).dispatchOnce(term: term)
        let onA = try await self.harness.inspector.entries(.workerQueue("only-a", .normal))
        let onB = try await self.harness.inspector.entries(.workerQueue("only-b", .normal))
        XCTAssertEqual(Set(onA.map(\.taskType)), [a])
        XCTAssertEqual(Set(onB.map(\.taskType)), [b])
        XCTAssertEqual(onA.count + onB.count, 8)

        // round_robin alternates among equals.
        let c = try await self.harness.type("c")
        try await self.harness.registerWorker("any-1", capacity: 100)
        try await self.harness.registerWorker("any-2", capacity: 100)
        try await self.harness.inspector.dropWorkerRecords("only-a", "only-b")
        try await self.harness.create(6, type: c)
        try await self.dispatcher(strategy: .roundRobin).dispatchOnce(term: term)
        let one = try await self.harness.inspector.members(.workerQueue("any-1", .normal)).count
        let two = try await self.harness.inspector.members(.workerQueue("any-2", .normal)).count
        XCTAssertEqual(one, 3)
        XCTAssertEqual(two, 3)
    }

    func testTypeConcurrencyAndRateLimitsHold() async throws {
        let limited = try await self.harness.type("conc", maxConcurrency: 3)
        let rated = try await self.harness.type("rate", rateLimit: 5)
        try await self.harness.create(10, type: limited)
        try await self.harness.registerWorker("w1", capacity: 1000)
        let term = try await self.harness.lead()
        let dispatcher = self.dispatcher()
        try await dispatcher.syncLimits()
        try await dispatcher.dispatchOnce(term: term)
        var onWorker = try await self.harness.inspector.entries(.workerQueue("w1", .normal))
        XCTAssertEqual(onWorker.count, 3)
        // A task of the type behind it in the queue waits; other types still pass the limit's check.
        try await self.harness.inspector.moveHead(from: .workerQueue("w1", .normal), to: .inFlight("w1"))
        try await self.harness.broker.acknowledge(workerID: "w1", [(onWorker[0], 0)])
        try await dispatcher.dispatchOnce(term: term)
        onWorker = try await self.harness.inspector.entries(.workerQueue("w1", .normal))
        XCTAssertEqual(onWorker.count, 3)

        // Rate: at most 5 in one second.
        try await self.harness.inspector.clear(.queue(.normal))
        try await self.harness.create(12, type: rated)
        let started = Date()
        try await dispatcher.dispatchOnce(term: term)
        let ratedMoved = try await self.harness.inspector.entries(.workerQueue("w1", .normal)).filter { $0.taskType == rated }
        if Date().timeIntervalSince(started) < 0.9 {
            XCTAssertLessThanOrEqual(ratedMoved.count, 5)
        }
        XCTAssertGreaterThan(ratedMoved.count, 0)
    }

    /// The count of a type's starts in a second outlives the round: rounds
    /// within one second of Redis's clock share the limit, and the next
    /// second starts again from zero (`{ns}:rates`, one field per type).
    func testARateLimitHoldsAcrossRoundsOfOneSecondAndRestartsTheNext() async throws {
        let rated = try await self.harness.type("rate_rounds", rateLimit: 5)
        try await self.harness.create(30, type: rated)
        try await self.harness.registerWorker("w1", capacity: 1000)
        let term = try await self.harness.lead()
        let dispatcher = self.dispatcher(batch: 2)
        try await dispatcher.syncLimits()
        // Start early in a second of Redis's clock, so that the rounds below share it.
        var now = try await self.harness.inspector.serverTime()
        if now - now.rounded(.down) > 0.3 {
            try await Task.sleep(for: .seconds(now.rounded(.down) + 1.02 - now))
            now = try await self.harness.inspector.serverTime()
        }
        let second = Int64(now.rounded(.down))
        var moved: [Int] = []
        for _ in 0..<4 { moved.append(try await dispatcher.dispatchOnce(term: term)) }
        let after = try await self.harness.inspector.serverTime()
        try XCTSkipIf(Int64(after.rounded(.down)) != second, "the rounds crossed a second of Redis's clock (a slow machine): \(moved)")
        XCTAssertEqual(moved, [2, 2, 1, 0], "five in the second, over three rounds")
        let counted = try await self.harness.inspector.startsInSecond(rated)
        XCTAssertEqual(counted, "\(second):5")

        try await Task.sleep(for: .seconds(Double(second) + 1.05 - after))
        let next = try await dispatcher.dispatchOnce(term: term)
        XCTAssertEqual(next, 2, "a new second: the type starts again")
        let recount = try await self.harness.inspector.startsInSecond(rated)
        XCTAssertEqual(recount?.hasSuffix(":2"), true, recount ?? "none")
        XCTAssertNotEqual(recount, "\(second):2")
    }

    /// The dispatcher passes the workers and parked lists it knows (every
    /// key a script touches is in KEYS): a worker that registers, or a type
    /// parked for the first time, is met by a round that lacked its keys,
    /// and the same call runs a second round with them; a worker gone is
    /// skipped.
    func testANewWorkerAndANewlyParkedTypeAreServedInTheSameCall() async throws {
        let type = try await self.harness.type("roster")
        try await self.harness.registerWorker("w1", capacity: 100)
        let term = try await self.harness.lead()
        try await self.harness.create(2, type: type)
        let first = try await self.dispatcher(strategy: .roundRobin).dispatchOnce(term: term)
        XCTAssertEqual(first, 2)

        try await self.harness.registerWorker("w2", capacity: 100)
        try await self.harness.create(4, type: type)
        let second = try await self.dispatcher(strategy: .roundRobin).dispatchOnce(term: term)
        XCTAssertEqual(second, 4)
        let onW2 = try await self.harness.inspector.count(.workerQueue("w2", .normal))
        XCTAssertEqual(onW2, 2, "the worker registered since the last round got its share at once")

        try await self.harness.inspector.dropWorkerRecords("w1")
        try await self.harness.create(3, type: type)
        let third = try await self.dispatcher().dispatchOnce(term: term)
        XCTAssertEqual(third, 3)
        let onW2Now = try await self.harness.inspector.count(.workerQueue("w2", .normal))
        XCTAssertEqual(onW2Now, 5, "the worker gone got nothing")

        let orphan = try await self.harness.type("roster_orphan")
        let dispatcher = self.dispatcher()
        try await dispatcher.syncLimits()
        try await self.harness.inspector.writeWorker("w2", beatMs: Int64(Date().timeIntervalSince1970 * 1000), fields: ["types": type])
        let parked = try await self.harness.create(3, type: orphan)
        let behind = try await self.harness.create(1, type: type)
        let fourth = try await dispatcher.dispatchOnce(term: term)
        XCTAssertEqual(fourth, 1)
        let onParked = try await self.harness.inspector.entries(.parked(orphan)).map(\.taskID)
        XCTAssertEqual(onParked, parked.map(\.taskID), "parked at once, in order, though no round had asked for its list before")
        let last = try await self.harness.inspector.entries(.workerQueue("w2", .normal)).last?.taskID
        XCTAssertEqual(last, behind[0].taskID)
    }

    func testASaturatedTypeHoldsBackNoOtherType() async throws {
        let saturated = try await self.harness.type("saturated", maxConcurrency: 1)
        let other = try await self.harness.type("other")
        let stuck = try await self.harness.create(4, type: saturated)
        let behind = try await self.harness.create(40, type: other)
        try await self.harness.registerWorker("w1", capacity: 100)
        let term = try await self.harness.lead()
        let dispatcher = self.dispatcher()
        try await dispatcher.syncLimits()
        let moved = try await dispatcher.dispatchOnce(term: term)
        XCTAssertEqual(moved, 41, "one of the saturated type, then all 40 behind it")
        let onWorker = try await self.harness.inspector.entries(.workerQueue("w1", .normal)).map(\.taskID)
        XCTAssertEqual(onWorker, [stuck[0].taskID] + behind.map(\.taskID), "FIFO within each type")
        let waiting = try await self.harness.inspector.entries(.queue(.normal)).map(\.taskID)
        XCTAssertEqual(waiting, Array(stuck.dropFirst().map(\.taskID)), "the saturated type keeps its order and place")
        // Its slot frees: the next of its tasks goes, in order.
        try await self.harness.inspector.remove(QueueEntry(stuck[0]).member, from: .workerQueue("w1", .normal))
        try await self.harness.inspector.addInUse(saturated, -1)
        _ = try await dispatcher.dispatchOnce(term: term)
        let next = try await self.harness.inspector.entries(.workerQueue("w1", .normal)).map(\.taskID).last
        XCTAssertEqual(next, stuck[1].taskID)
    }

    func testATypeNoWorkerRunsWaitsWithoutBlockingOthers() async throws {
        let orphan = try await self.harness.type("orphan")
        let served = try await self.harness.type("served")
        let waiting = try await self.harness.create(5, type: orphan, priority: .high)
        let behind = try await self.harness.create(10, type: served, priority: .high)
        let normal = try await self.harness.create(10, type: served)
        try await self.harness.registerWorker("w1", capacity: 100, types: [served])
        let term = try await self.harness.lead()
        let moved = try await self.dispatcher().dispatchOnce(term: term)
        XCTAssertEqual(moved, 20)
        let onWorker = try await self.harness.inspector.waitingOn(worker: "w1").map(\.taskID)
        XCTAssertEqual(onWorker, behind.map(\.taskID) + normal.map(\.taskID), "high before normal, the orphan skipped")
        let left = try await self.harness.inspector.entries(.queue(.high)).map(\.taskID)
        XCTAssertEqual(left, waiting.map(\.taskID))
    }

    func testNoWorkerLeavesTaskAtTheHead() async throws {
        let type = try await self.harness.type("nowhere")
        let created = try await self.harness.create(3, type: type)
        try await self.harness.registerWorker("other-types", capacity: 10, types: ["something_else"])
        let term = try await self.harness.lead()
        let moved = try await self.dispatcher().dispatchOnce(term: term)
        XCTAssertEqual(moved, 0)
        let queue = try await self.harness.inspector.entries(.queue(.normal)).map(\.taskID)
        XCTAssertEqual(queue, created.map(\.taskID))
    }

    func testRunningDispatcherRecordsScheduledShortlyAfterButNeverOverARunningTask() async throws {
        let type = try await self.harness.type("marks")
        let created = try await self.harness.create(6, type: type)
        try await self.harness.registerWorker("w1", capacity: 100)
        let term = try await self.harness.lead()
        let harness = self.harness!
        // One task "starts" the moment it lands on the worker queue, before the marks are written.
        let started = created[0].taskID
        let dispatcher = self.dispatcher()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await dispatcher.run(term: term) }
            let onWorker = try await TestEnvironment.waitUntil(timeout: .seconds(5), every: .milliseconds(1)) {
                try await harness.inspector.members(.workerQueue("w1", .normal)).count == 6
            }
            XCTAssertTrue(onWorker)
            let ran = try await harness.tasks.start([started], workerID: "w1", now: Date().roundedToMicroseconds)
            XCTAssertEqual(ran.map(\.taskID), [started])
            let marked = try await TestEnvironment.waitUntil(timeout: .seconds(5)) {
                try await harness.mysql.query(
                    "SELECT COUNT(*) AS n FROM task WHERE task_type = ? AND status = ? AND worker_id = 'w1'",
                    [.string(type), .int(Int64(TaskStatus.scheduled.rawValue))]
                ).first?.int("n") == 5
            }
            XCTAssertTrue(marked)
            group.cancelAll()
        }
        let first = try await self.harness.tasks.task(started)
        XCTAssertEqual(first?.status, .running)
        XCTAssertEqual(first?.attempt, 1)
    }
}

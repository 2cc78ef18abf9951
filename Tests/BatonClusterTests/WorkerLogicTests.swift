import BatonBroker
import BatonModel
import BatonWorker
import Foundation
import Testing

/// The worker's pipeline on an in-memory broker and store
/// (`InMemoryWorkerHarness`): what it takes is started, run, recorded and
/// acknowledged once; cancels, retries, refused starts, the graceful stop
/// and store outages, each exact. No Redis, no MySQL: WorkerTests,
/// StaleStartTests and FaultTests run the same worker on real servers.
@Suite struct WorkerLogicTests {
    @Test func whatItTakesIsStartedRunRecordedAndAcknowledgedOnce() async throws {
        let harness = InMemoryWorkerHarness(types: [InMemoryWorkerHarness.type("echo")])
        harness.handle("echo") { context, _ in "ran \(context.taskID)" }
        let tasks = harness.create(12, type: "echo")
        try #require(try await harness.eventually { harness.broker.acknowledged.count >= 12 })
        for task in tasks {
            let row = try #require(harness.store.row(task.taskID))
            #expect(row.status == .succeeded)
            #expect(row.result == "ran \(task.taskID)")
            #expect(row.attempt == 1)
            #expect(row.workerID == harness.configuration.workerID)
            #expect(harness.calls(task.taskID) == 1)
            #expect(harness.store.starts(task.taskID) == 1)
            #expect(harness.store.outcomeWrites(task.taskID) == 1)
        }
        let acknowledged = harness.broker.acknowledged
        #expect(acknowledged.count == 12)
        #expect(Set(acknowledged.map(\.entry)) == Set(tasks.map(QueueEntry.init)))
        #expect(acknowledged.allSatisfy { $0.due == 0 }, "nothing to retry")
        #expect(harness.broker.inFlight.isEmpty)
        try await harness.stop()
        #expect(harness.broker.shared.isEmpty, "nothing went back")
    }

    @Test func aCancelNoticeAbortsTheAttemptItNames() async throws {
        let harness = InMemoryWorkerHarness(types: [InMemoryWorkerHarness.type("block")])
        harness.handle("block") { _, _ in
            try await Task.sleep(for: .seconds(60))
            return "not aborted"
        }
        let task = harness.create(1, type: "block")[0]
        try #require(try await harness.eventually { harness.calls(task.taskID) == 1 })
        // A notice for another attempt of the task leaves this one running.
        harness.broker.cancel(CancelNotice(taskID: task.taskID, attempt: 2))
        try await Task.sleep(for: .milliseconds(200))
        #expect(harness.broker.acknowledged.isEmpty)
        // As CancelTask does it: the row CANCELLED first, then the notice.
        harness.store.change(task.taskID) { $0.status = .cancelled }
        harness.broker.cancel(CancelNotice(taskID: task.taskID, attempt: 1))
        // The ack follows the executor's end: its 60 s sleep was cut short.
        #expect(try await harness.eventually { !harness.broker.acknowledged.isEmpty })
        #expect(harness.broker.acknowledged.map(\.entry) == [QueueEntry(task)])
        #expect(harness.broker.acknowledged.first?.due == 0)
        #expect(harness.store.outcomeWrites(task.taskID) == 0, "the row is CANCELLED already")
        #expect(harness.store.row(task.taskID)?.status == .cancelled)
        try await harness.stop()
        #expect(harness.store.logs.contains { $0.message.hasPrefix("cancelled while running attempt 1") })
    }

    @Test func aFailureIsRetriedAsRetryDecisionSays() async throws {
        let harness = InMemoryWorkerHarness(types: [
            InMemoryWorkerHarness.type("flaky", retries: 1, backoffMs: 2000), InMemoryWorkerHarness.type("broken", retries: 3),
        ])
        harness.handle("flaky") { _, _ in throw ExecutionFailure("try later", retryable: true) }
        harness.handle("broken") { _, _ in throw ExecutionFailure("bad input", retryable: false) }
        let before = Date()
        let flaky = harness.create(1, type: "flaky")[0]
        let broken = harness.create(1, type: "broken")[0]
        try #require(try await harness.eventually { harness.broker.acknowledged.count >= 2 })
        let after = Date()

        // A retryable failure with retries left: RETRYING, its next entry due after the backoff (2 s ± 20 %).
        let retrying = try #require(harness.store.row(flaky.taskID))
        #expect(retrying.status == .retrying)
        #expect(retrying.error == "try later")
        #expect(retrying.generation == 1)
        let retryAt = try #require(retrying.retryAt)
        #expect(retryAt >= before.addingTimeInterval(1.6) && retryAt <= after.addingTimeInterval(2.4), "\(retryAt)")
        let due = harness.broker.acknowledged.first { $0.entry.taskID == flaky.taskID }?.due
        #expect(due == Int64(retryAt.timeIntervalSince1970 * 1000), "the retry waits on the delayed set until then")
        // One that cannot succeed ends at once, retries left notwithstanding.
        #expect(harness.store.row(broken.taskID)?.status == .failed)
        #expect(harness.broker.acknowledged.first { $0.entry.taskID == broken.taskID }?.due == 0)

        // Its retry, due: the last attempt it has fails for good.
        harness.broker.give([QueueEntry(retrying)])
        try #require(try await harness.eventually { harness.broker.acknowledged.count >= 3 })
        let failed = try #require(harness.store.row(flaky.taskID))
        #expect(failed.status == .failed)
        #expect(failed.attempt == 2)
        #expect(harness.broker.acknowledged.last?.entry == QueueEntry(retrying))
        #expect(harness.broker.acknowledged.last?.due == 0)
        #expect(harness.calls(flaky.taskID) == 2)
        try await harness.stop()
    }

    @Test func aStartTheStoreRefusesRunsNothing() async throws {
        let harness = InMemoryWorkerHarness(capacity: 8, types: [InMemoryWorkerHarness.type("echo"), InMemoryWorkerHarness.type("paused")])
        harness.handle("echo") { _, _ in "ran" }
        harness.handle("paused") { _, _ in "ran" }
        // Cancelled before it started; retried since its entry was made (a stale entry); of a paused type.
        let cancelled = harness.create(1, type: "echo", give: false)[0]
        harness.store.change(cancelled.taskID) { $0.status = .cancelled }
        let stale = harness.create(1, type: "echo", give: false)[0]
        harness.store.change(stale.taskID) { $0.generation = 1 }
        harness.store.pause("paused")
        let paused = harness.create(1, type: "paused", give: false)[0]
        let fine = harness.create(1, type: "echo", give: false)[0]
        // All taken together, with a second entry of one task.
        harness.broker.give([cancelled, stale, paused, fine, fine].map(QueueEntry.init))
        try #require(try await harness.eventually { harness.broker.acknowledged.count >= 4 && !harness.broker.handedBackInFlight.isEmpty })

        for task in [cancelled, stale, paused] { #expect(harness.calls(task.taskID) == 0, "\(task.taskID)") }
        #expect(harness.calls(fine.taskID) == 1, "one task, one attempt")
        #expect(harness.store.row(fine.taskID)?.status == .succeeded)
        // Gone for good: dropped from the in-flight list.
        #expect(harness.broker.acknowledged.map(\.entry.taskID).sorted() == [cancelled, stale, fine, fine].map(\.taskID).sorted())
        // Still waiting (its type paused): back to its queue, where the dispatcher parks it.
        #expect(harness.broker.handedBackInFlight == [QueueEntry(paused)])
        #expect(harness.broker.shared == [QueueEntry(paused)])
        #expect(harness.store.row(paused.taskID)?.status == .queued)
        #expect(harness.store.row(cancelled.taskID)?.status == .cancelled)
        #expect(harness.store.row(stale.taskID)?.attempt == 0)
        #expect(harness.broker.inFlight.isEmpty)
        try await harness.stop()
    }

    @Test func aGracefulStopHandsBackWhatRunsUnspentAndWhatWaits() async throws {
        // No saturation hand-back meanwhile (`readyLimit`): what waits goes back at the stop.
        let harness = InMemoryWorkerHarness(
            capacity: 1, gracePeriod: .milliseconds(200), readyLimit: .seconds(30), types: [InMemoryWorkerHarness.type("block")]
        )
        harness.handle("block") { _, _ in
            try await Task.sleep(for: .seconds(60))
            return "not stopped"
        }
        let running = harness.create(1, type: "block")[0]
        try #require(try await harness.eventually { harness.calls(running.taskID) == 1 })
        // Its one slot is busy: these wait on its queue.
        let waiting = harness.create(2, type: "block")
        try await harness.stop()

        #expect(harness.broker.draining, "the dispatcher gives a stopping worker nothing more")
        // The attempt that outlasted the grace period: QUEUED again, its attempt not spent, back in front.
        let row = try #require(harness.store.row(running.taskID))
        #expect(row.status == .queued)
        #expect(row.attempt == 0)
        #expect(harness.store.outcomeWrites(running.taskID) == 0)
        #expect(harness.broker.handedBackInFlight == [QueueEntry(running)])
        // What waited on its queue went back too, never started.
        #expect(harness.broker.handBackQueuedCalls == 1)
        #expect(Set(harness.broker.shared) == Set((waiting + [running]).map(QueueEntry.init)))
        for task in waiting {
            #expect(harness.calls(task.taskID) == 0)
            #expect(harness.store.row(task.taskID)?.attempt == 0)
        }
        #expect(harness.broker.queued.isEmpty)
        #expect(harness.broker.inFlight.isEmpty)
        #expect(harness.broker.acknowledged.isEmpty)
        #expect(harness.store.logs.contains { $0.message.contains("handed back unfinished") })
    }

    @Test func aStoreOutageIsRetriedAndEachWriteLandsOnce() async throws {
        let harness = InMemoryWorkerHarness(types: [InMemoryWorkerHarness.type("flaky", retries: 2, backoffMs: 60_000)])
        harness.handle("flaky") { _, _ in throw ExecutionFailure("later", retryable: true) }
        // MySQL away for the first start, then a start whose reply was lost;
        // the outcome away twice, then written with its reply lost.
        harness.store.fail(.start, [.noAnswer, .lostAnswer])
        harness.store.fail(.outcome, [.noAnswer, .noAnswer, .lostAnswer])
        let task = harness.create(1, type: "flaky")[0]
        try #require(try await harness.eventually { !harness.broker.acknowledged.isEmpty })

        // The next start claimed what the lost one started: one attempt, run once.
        #expect(harness.store.starts(task.taskID) == 1)
        #expect(harness.calls(task.taskID) == 1)
        let row = try #require(harness.store.row(task.taskID))
        #expect(row.status == .retrying)
        #expect(row.attempt == 1)
        #expect(harness.store.outcomeWrites(task.taskID) == 1)
        // The write whose reply was lost counts as applied: its retry is scheduled.
        let retryAt = try #require(row.retryAt)
        #expect(harness.broker.acknowledged.map(\.entry) == [QueueEntry(task)])
        #expect(harness.broker.acknowledged.first?.due == Int64(retryAt.timeIntervalSince1970 * 1000))
        try await harness.stop()
    }
}

@testable import BatonWorker
import BatonTestSupport
import Synchronization
import Testing

/// The worker's prefetch estimate and its execution slots: pure logic, no server.
@Suite struct PrefetchTests {
    @Test func startsNearTwiceTheCapacity() {
        let prefetch = Prefetch(capacity: 10)
        #expect(prefetch.window >= 12 && prefetch.window <= 20, "\(prefetch.window)")
        #expect(prefetch.maxWindow == 320)
    }

    @Test func instantTasksFillTheMaximumWindowAndStartInBursts() {
        var prefetch = Prefetch(capacity: 10)
        for _ in 0..<200 {
            prefetch.executed(seconds: 0.000_02)
            prefetch.startWritten(seconds: 0.002)
            prefetch.settled(seconds: 0.003)
        }
        #expect(prefetch.window == 320)
        #expect(prefetch.burst == 80)
    }

    @Test func slowTasksHoldOneMoreThanTheSlotsAndStartNoneAhead() {
        var prefetch = Prefetch(capacity: 10)
        for _ in 0..<200 {
            prefetch.executed(seconds: 1.0)
            prefetch.startWritten(seconds: 0.002)
            prefetch.settled(seconds: 0.003)
        }
        #expect(prefetch.window == 11)
        #expect(prefetch.burst == 0)
    }

    @Test func aSlowerPipelineAsksForMore() {
        var fast = Prefetch(capacity: 10)
        var slow = Prefetch(capacity: 10)
        for _ in 0..<200 {
            fast.executed(seconds: 0.05)
            slow.executed(seconds: 0.05)
            fast.settled(seconds: 0.002)
            slow.settled(seconds: 0.050)
        }
        #expect(fast.window < slow.window)
        #expect(fast.window >= 11)
        // 10 slots × (50 ms + 2 × 2 ms + 50 ms) / 50 ms
        #expect(slow.window == 21)
    }

    @Test func nonsenseSamplesChangeNothing() {
        var prefetch = Prefetch(capacity: 4, maxWindow: 50)
        let before = prefetch
        prefetch.executed(seconds: -1)
        prefetch.settled(seconds: .nan)
        prefetch.startWritten(seconds: .infinity)
        #expect(prefetch == before)
        #expect(Prefetch(capacity: 4, maxWindow: 2).maxWindow == 5, "the window always exceeds the capacity")
    }
}

@Suite struct ExecutionSlotsTests {
    @Test func readyAttemptsTakeSlotsInStartOrderAsExecutionsEnd() async {
        let slots = ExecutionSlots(capacity: 2)
        slots.started(4)
        #expect(await slots.acquire() == .granted)
        #expect(await slots.acquire() == .granted)
        #expect(slots.active == 4)
        let order = OrderLog()
        let third = Task { let granted = await slots.acquire(); order.add(3); return granted }
        try? await Task.sleep(for: .milliseconds(50))
        let fourth = Task { let granted = await slots.acquire(); order.add(4); return granted }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(order.values.isEmpty, "both slots are taken")
        slots.executed()
        #expect(await third.value == .granted)
        #expect(slots.held == 4, "one settles, three ready or running")
        slots.executed()
        #expect(await fourth.value == .granted)
        #expect(order.values == [3, 4])
        slots.settled()
        slots.settled()
        #expect(slots.held == 2)
    }

    @Test func highPriorityAttemptsTakeTheNextSlotAheadOfNormalOnes() async throws {
        let slots = ExecutionSlots(capacity: 1)
        slots.started(4)
        #expect(await slots.acquire() == .granted)
        let order = OrderLog()
        let normal = Task { let granted = await slots.acquire(); order.add(1); return granted }
        try await arrived { slots.waiting == 1 }
        let high = Task { let granted = await slots.acquire(high: true); order.add(2); return granted }
        try await arrived { slots.waiting == 2 }
        #expect(slots.highWaiting == 1)
        let secondNormal = Task { let granted = await slots.acquire(); order.add(3); return granted }
        try await arrived { slots.waiting == 3 }
        slots.executed()
        #expect(await high.value == .granted, "the high one started last and runs next")
        slots.executed()
        #expect(await normal.value == .granted)
        slots.executed()
        #expect(await secondNormal.value == .granted)
        #expect(order.values == [2, 1, 3])
        #expect(slots.highWaiting == 0)
    }

    /// While normal attempts wait too, high ones take at most `capacity`
    /// slots in a row: a flood of high work never holds a started normal
    /// attempt until its deadline.
    @Test func aFloodOfHighAttemptsLeavesEveryThirdSlotToANormalOne() async throws {
        let slots = ExecutionSlots(capacity: 2)
        slots.started(7)
        #expect(await slots.acquire() == .granted)
        #expect(await slots.acquire() == .granted)
        let order = OrderLog()
        var waiting: [Task<ExecutionSlots.Grant, Never>] = []
        waiting.append(Task { let granted = await slots.acquire(); order.add(0); return granted })
        try await arrived { slots.waiting == 1 }
        for index in 1...4 {
            waiting.append(Task { let granted = await slots.acquire(high: true); order.add(index); return granted })
            try await arrived { slots.waiting == 1 + index }
        }
        for expected in 1...5 {
            slots.executed()
            try await arrived { order.values.count >= expected }
        }
        #expect(order.values == [1, 2, 0, 3, 4], "two high, the normal one, then the rest")
        for task in waiting { #expect(await task.value == .granted) }
    }

    @Test func theConsumerWaitsForRoomAndForOutcomesToSettle() async {
        let slots = ExecutionSlots(capacity: 1)
        slots.started(1)
        #expect(await slots.acquire() == .granted)
        let woke = OrderLog()
        let consumer = Task { await slots.waitForRoom(target: 1, settleLimit: 1); woke.add(1) }
        try? await Task.sleep(for: .milliseconds(50))
        #expect(woke.values.isEmpty, "the only slot runs")
        slots.executed()  // the slot frees, but one outcome settles and the limit is one
        try? await Task.sleep(for: .milliseconds(50))
        #expect(woke.values.isEmpty, "too many outcomes settling")
        slots.settled()
        await consumer.value
        #expect(woke.values == [1])
    }

    @Test func aStopRefusesReadyAttemptsAndWakesTheConsumer() async {
        let slots = ExecutionSlots(capacity: 1)
        slots.started(2)
        #expect(await slots.acquire() == .granted)
        let waiting = Task { await slots.acquire() }
        try? await Task.sleep(for: .milliseconds(50))
        let consumer = Task { await slots.waitForRoom(target: 1, settleLimit: 10) }
        try? await Task.sleep(for: .milliseconds(50))
        slots.interrupt()
        #expect(await waiting.value == .stopped)
        await consumer.value
        #expect(slots.active == 1, "the running one; the ready one left")
    }

    /// A ready attempt whose slot does not come within the bound leaves
    /// without running (the worker hands it back): it never reads RUNNING
    /// behind a long call.
    @Test func aReadyAttemptWhoseSlotDoesNotComeExpires() async throws {
        let slots = ExecutionSlots(capacity: 1)
        slots.started(3)
        #expect(await slots.acquire() == .granted)
        let normal = Task { await slots.acquire() }
        let high = Task { await slots.acquire(high: true) }
        try await arrived { slots.waiting == 2 }
        #expect(slots.expire(olderThan: .seconds(60)) == 0, "young waits stay")
        #expect(!slots.saturated(for: .seconds(60)))
        try await Task.sleep(for: .milliseconds(30))
        #expect(slots.saturated(for: .milliseconds(20)), "the one slot ran 30 ms without freeing")
        #expect(slots.expire(olderThan: .milliseconds(20)) == 2)
        #expect(await normal.value == .expired)
        #expect(await high.value == .expired)
        #expect(slots.active == 1, "only the running attempt")
        slots.skipped()
        slots.skipped()
        slots.executed()
        #expect(!slots.saturated(for: .milliseconds(20)), "a slot just freed")
        #expect(slots.held == 3, "three settling")
    }

    /// Saturation counts from when the last free slot was taken, not from
    /// when a slot last freed: slots partly idle for a while and then
    /// filled are not saturated (the worker would publish a window of 0
    /// and hand back its queue while its calls are short).
    @Test func slotsFilledAfterAnIdleSpellAreNotSaturatedAtOnce() async throws {
        let slots = ExecutionSlots(capacity: 2)
        slots.started(1)
        #expect(await slots.acquire() == .granted)
        try await Task.sleep(for: .milliseconds(30))
        #expect(!slots.saturated(for: .milliseconds(20)), "a slot is free")
        slots.started(1)
        #expect(await slots.acquire() == .granted)
        #expect(!slots.saturated(for: .milliseconds(20)), "every slot busy only just now")
        try await Task.sleep(for: .milliseconds(30))
        #expect(slots.saturated(for: .milliseconds(20)), "every slot busy for 30 ms")
        slots.executed()
        slots.started(1)
        #expect(await slots.acquire() == .granted)
        #expect(!slots.saturated(for: .milliseconds(20)), "full again only just now")
    }
}

/// Appends from several tasks.
private final class OrderLog: Sendable {
    private let state = Mutex<[Int]>([])
    func add(_ value: Int) { self.state.withLock { $0.append(value) } }
    var values: [Int] { self.state.withLock { $0 } }
}

/// Waits (10 s at most, then fails the test) until `condition` holds:
/// arrival order without sleeping.
private func arrived(_ condition: () -> Bool) async throws {
    try #require(try await TestEnvironment.waitUntil(every: .milliseconds(1)) { condition() })
}

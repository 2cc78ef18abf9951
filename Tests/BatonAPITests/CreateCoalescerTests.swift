import BatonModel
@testable import BatonService
import BatonStore
import BatonTestSupport
import Foundation
import Synchronization
import Testing

/// Group commit of creates, without servers: a stand-in commit records what
/// it was given.
@Suite struct CreateCoalescerTests {
    fileprivate static func draft(_ tag: String, bytes: Int = 0) -> TaskRecord {
        let now = Date()
        return TaskRecord(taskID: tag, taskType: "t", priority: .normal, payload: bytes > 0 ? ["p": String(repeating: "x", count: bytes)] : [:],
                          status: .queued, maxRetries: 0, timeoutSeconds: 30, createdAt: now, updatedAt: now)
    }

    /// Commits record their batches; the first one waits until `open` so that the rest pile up.
    private final class Recorder: Sendable {
        let batches = Mutex<[[String]]>([])
        let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let failing: Set<String>

        init(failing: Set<String> = []) { self.failing = failing }

        func commit(_ drafts: [TaskRecord]) async throws -> [CreateCoalescer.Created] {
            let first = self.batches.withLock { batches in
                batches.append(drafts.map(\.taskID))
                return batches.count == 1
            }
            if first { await withCheckedContinuation { continuation in self.gate.withLock { $0 = continuation } } }
            if drafts.contains(where: { self.failing.contains($0.taskID) }) { throw StoreError(.failed, "bad row") }
            return drafts.map { ($0, false) }
        }

        func open() async {
            while true {
                if let waiting = self.gate.withLock({ gate -> CheckedContinuation<Void, Never>? in defer { gate = nil }; return gate }) {
                    waiting.resume()
                    return
                }
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    @Test func callsThatArriveDuringACommitShareTheNext() async throws {
        let coalescer = CreateCoalescer(maxInFlight: 1)
        let recorder = Recorder()
        try await withThrowingTaskGroup(of: (String, [String]).self) { group in
            group.addTask { ("first", try await coalescer.submit([Self.draft("a")], commit: recorder.commit).map(\.task.taskID)) }
            while recorder.batches.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(1)) }
            for index in 0..<10 {
                group.addTask { ("c\(index)", try await coalescer.submit([Self.draft("c\(index)-1"), Self.draft("c\(index)-2")], commit: recorder.commit).map(\.task.taskID)) }
            }
            // All ten wait behind the first commit.
            try await Task.sleep(for: .milliseconds(100))
            await recorder.open()
            for try await (caller, ids) in group {
                if caller == "first" { #expect(ids == ["a"]) } else { #expect(ids == ["\(caller)-1", "\(caller)-2"], "each caller gets its own, in order") }
            }
        }
        let batches = recorder.batches.withLock { $0 }
        #expect(batches.count == 2, "one commit for the first, one for the ten that waited")
        #expect(batches.last?.count == 20)
    }

    @Test func aBadCallFailsAloneAndSizeLimitsSplitTurns() async throws {
        let coalescer = CreateCoalescer(maxDrafts: 1000, maxBytes: 10_000, maxInFlight: 1)
        let recorder = Recorder(failing: ["bad"])
        let results = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            group.addTask { ("first", (try? await coalescer.submit([Self.draft("a")], commit: recorder.commit)) != nil) }
            while recorder.batches.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(1)) }
            for tag in ["ok1", "bad", "ok2", "big1", "big2"] {
                let bytes = tag.hasPrefix("big") ? 8_000 : 0
                group.addTask { (tag, (try? await coalescer.submit([Self.draft(tag, bytes: bytes)], commit: recorder.commit)) != nil) }
                try await Task.sleep(for: .milliseconds(10))
            }
            await recorder.open()
            var results: [String: Bool] = [:]
            for try await (tag, ok) in group { results[tag] = ok }
            return results
        }
        #expect(results == ["first": true, "ok1": true, "bad": false, "ok2": true, "big1": true, "big2": true])
        let batches = recorder.batches.withLock { $0 }
        // The shared turn failed on "bad", then each of its callers went alone; the two big ones never shared.
        #expect(batches.contains(["bad"]))
        #expect(batches.contains(["ok1"]))
        #expect(!batches.contains { $0.contains("big1") && $0.contains("big2") })
    }

    /// A high-priority call opens a turn beyond `maxInFlight` and waits for
    /// no normal commit; with that turn busy too, it goes ahead of normal
    /// calls that came before it. The spare turn closes when no high call waits.
    @Test func highPriorityCallsGoFirst() async throws {
        let gates = CommitGates(CreateCoalescer(maxInFlight: 1))
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Whatever an expectation finds, no commit is left waiting: the test fails, never hangs.
            defer { gates.releaseAll() }
            group.addTask { try await gates.submit("a") }
            try await gates.waitFor(commits: 1)
            group.addTask { try await gates.submit("n1") }
            try await gates.waitFor(waiting: 1)
            group.addTask { try await gates.submit("h1", high: true) }
            try await gates.waitFor(commits: 2)
            #expect(gates.batches == [["a"], ["h1"]], "h1 took the spare turn; n1 waits for a")
            group.addTask { try await gates.submit("n2") }
            try await gates.waitFor(waiting: 2)
            group.addTask { try await gates.submit("h2", high: true) }
            try await gates.waitFor(waiting: 3)
            group.addTask { try await gates.submit("h3", high: true) }
            try await gates.waitFor(waiting: 4)
            #expect(gates.batches.count == 2, "both turns busy: everyone waits")
            gates.release("h1")
            try await gates.waitFor(commits: 3)
            #expect(gates.batches[2] == ["h2", "h3", "n1", "n2"], "the next turn gathers the high calls first")
        }
        #expect(gates.batches.count == 3)
    }

    /// High calls fill at most half of a turn ahead of normal ones: a flood
    /// of them never starves a normal call.
    @Test func aFloodOfHighCallsLeavesRoomForNormalOnes() async throws {
        let gates = CommitGates(CreateCoalescer(maxDrafts: 4, maxInFlight: 1))
        try await withThrowingTaskGroup(of: Void.self) { group in
            defer { gates.releaseAll() }
            group.addTask { try await gates.submit("a") }
            try await gates.waitFor(commits: 1)
            group.addTask { try await gates.submit("h0", high: true) }
            try await gates.waitFor(commits: 2)
            group.addTask { try await gates.submit("n1") }
            try await gates.waitFor(waiting: 1)
            for index in 1...6 {
                group.addTask { try await gates.submit("h\(index)", high: true) }
                try await gates.waitFor(waiting: 1 + index)
            }
            gates.release("h0")
            try await gates.waitFor(commits: 3)
            #expect(gates.batches[2] == ["h1", "h2", "n1", "h3"], "two high calls, then arrival order")
        }
    }

    @Test func aBatchAndASecondCommitGoAtOnce() async throws {
        let coalescer = CreateCoalescer(maxDrafts: 128, maxInFlight: 2)
        let recorder = Recorder()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { _ = try await coalescer.submit([Self.draft("a")], commit: recorder.commit) }
            while recorder.batches.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(1)) }
            // The first commit hangs; a second single call still has a turn of its own, and so has a batch.
            group.addTask { _ = try await coalescer.submit([Self.draft("b")], commit: recorder.commit) }
            group.addTask { _ = try await coalescer.submit((0..<64).map { Self.draft("batch\($0)") }, commit: recorder.commit) }
            // Without a turn of its own, `b` would never commit: fail then, never hang.
            let ownTurns = try await TestEnvironment.waitUntil(every: .milliseconds(1)) { recorder.batches.withLock { $0.count >= 3 } }
            await recorder.open()
            try #require(ownTurns, "b and the batch have turns of their own")
            try await group.waitForAll()
        }
        let batches = recorder.batches.withLock { $0 }
        #expect(batches.count == 3)
        #expect(batches.contains(["b"]))
    }
}

/// Submits one-draft calls to a coalescer and records each commit's tags; a
/// commit waits until its first tag is released.
private final class CommitGates: Sendable {
    private struct State {
        var batches: [[String]] = []
        var released: Set<String> = []
        var releasedAll = false
        var waiting: [String: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())
    private let coalescer: CreateCoalescer

    init(_ coalescer: CreateCoalescer) { self.coalescer = coalescer }

    var batches: [[String]] { self.state.withLock { $0.batches } }

    @Sendable func submit(_ tag: String, high: Bool = false) async throws {
        var draft = CreateCoalescerTests.draft(tag)
        draft.priority = high ? .high : .normal
        _ = try await self.coalescer.submit([draft], commit: self.commit)
    }

    func commit(_ drafts: [TaskRecord]) async throws -> [CreateCoalescer.Created] {
        let tag = drafts[0].taskID
        await withCheckedContinuation { continuation in
            let go = self.state.withLock { state in
                state.batches.append(drafts.map(\.taskID))
                if state.releasedAll || state.released.contains(tag) { return true }
                state.waiting[tag] = continuation
                return false
            }
            if go { continuation.resume() }
        }
        return drafts.map { ($0, false) }
    }

    func release(_ tag: String) {
        let waiting = self.state.withLock { state in
            state.released.insert(tag)
            return state.waiting.removeValue(forKey: tag)
        }
        waiting?.resume()
    }

    /// Releases every commit, waiting or still to come.
    func releaseAll() {
        let waiting = self.state.withLock { state in
            state.releasedAll = true
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Waits (10 s at most, then fails the test) for `commits` commits.
    func waitFor(commits: Int) async throws {
        try #require(try await TestEnvironment.waitUntil(every: .milliseconds(1)) { self.batches.count >= commits }, "\(commits) commits")
    }

    /// Until `calls` wait for a turn: arrival order without sleeping.
    func waitFor(waiting calls: Int) async throws {
        try #require(try await TestEnvironment.waitUntil(every: .milliseconds(1)) { self.coalescer.waitingCount >= calls }, "\(calls) waiting")
    }
}

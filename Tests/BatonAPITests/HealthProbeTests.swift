import BatonService
import BatonTestSupport
import Logging
import Synchronization
import Testing

/// The background health probe: publishes changes to every watcher, and a
/// probe that hangs turns the state NOT_SERVING without hanging anyone.
struct HealthProbeTests {
    final class Answer: Sendable {
        enum Mode { case up, down, hang }
        let mode = Mutex(Mode.up)
        let calls = Mutex(0)
    }

    func probe(_ answer: Answer) -> HealthProbe {
        HealthProbe(interval: .milliseconds(50), timeout: .milliseconds(200), logger: Logger(label: "test")) {
            answer.calls.withLock { $0 += 1 }
            switch answer.mode.withLock({ $0 }) {
            case .up: return true
            case .down: return false
            case .hang:
                try? await Task.sleep(for: .seconds(3600))
                return false
            }
        }
    }

    @Test func watchersHearEachChangeAndAHungProbeMeansNotServing() async throws {
        let answer = Answer()
        let probe = self.probe(answer)
        let running = Task { try await probe.run() }
        defer { running.cancel() }
        var updates = probe.updates().makeAsyncIterator()
        #expect(await updates.next() == false, "not serving before the first probe")
        #expect(await updates.next() == true)
        answer.mode.withLock { $0 = .down }
        #expect(await updates.next() == false)
        answer.mode.withLock { $0 = .up }
        #expect(await updates.next() == true)
        answer.mode.withLock { $0 = .hang }
        let hungAt = ContinuousClock.now
        #expect(await updates.next() == false)
        #expect(ContinuousClock.now - hungAt < .seconds(2), "overdue within about the timeout")
        #expect(probe.serving == false)
        let calls = answer.calls.withLock { $0 }
        try await Task.sleep(for: .milliseconds(300))
        #expect(answer.calls.withLock { $0 } == calls, "no new probe piles up behind a hung one")
    }

    @Test func probesKeepToTheirIntervalWhateverTheReaders() async throws {
        let answer = Answer()
        let probe = self.probe(answer)
        let running = Task { try await probe.run() }
        defer { running.cancel() }
        let started = ContinuousClock.now
        for _ in 0..<10_000 { _ = probe.serving }
        try await Task.sleep(for: .milliseconds(500))
        // A machine busy with other suites may not have run the probe's
        // loop yet: give its first probe time (the lower bound is one).
        _ = try await TestEnvironment.waitUntil(timeout: .seconds(5), every: .milliseconds(10)) { probe.probes > 0 }
        // Readers never add probes: at most one per interval of the time
        // that passed (a loaded machine may oversleep, so none fewer than one).
        let most = Int((ContinuousClock.now - started) / .milliseconds(50)) + 2
        #expect((1...most).contains(probe.probes), "\(probe.probes) probes at 50 ms, at most \(most)")
    }
}

@testable import BatonWorker
import Logging
import Synchronization
import Testing

/// The worker's one retry loop (start writes, outcomes, acknowledgements,
/// configuration reads): pure logic on a simulated clock, no server.
@Suite struct LeaseRetryTests {
    private struct Failure: Error {}

    /// Waits advance a simulated clock instead of sleeping; log lines are kept.
    private final class Harness: Sendable {
        let waits = Mutex<[Duration]>([])
        let log = LogCapture()
        let start = ContinuousClock.now

        var lines: [String] { self.log.lines.withLock { $0 } }

        var retry: LeaseRetry {
            var retry = LeaseRetry(first: .milliseconds(50), cap: .milliseconds(300), logger: self.log.logger)
            retry.sleep = { wait in self.waits.withLock { $0.append(wait) } }
            retry.now = { self.start + self.waits.withLock { $0.reduce(.zero, +) } }
            return retry
        }
    }

    @Test func aFirstTryThatWorksNeitherWaitsNorLogs() async {
        let harness = Harness()
        let value = await harness.retry.run("never logged") { 7 }
        #expect(value == 7)
        #expect(harness.waits.withLock { $0 }.isEmpty)
        #expect(harness.lines.isEmpty)
    }

    @Test func theWaitDoublesToTheCapAndEachRetryIsLogged() async {
        let harness = Harness()
        var tries = 0
        let value = await harness.retry.run("could not write; retrying", metadata: ["tasks": "3"]) {
            tries += 1
            if tries < 6 { throw Failure() }
            return tries
        }
        #expect(value == 6)
        #expect(harness.waits.withLock { $0 } == [.milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(300), .milliseconds(300)])
        let lines = harness.lines
        #expect(lines.count == 5)
        let first = lines.first ?? ""
        #expect(first.hasPrefix("warning could not write; retrying "), "\(first)")
        for field in [#""retry_in": 0.05 seconds"#, #""tasks": 3"#, #""error": Failure()"#] {
            #expect(first.contains(field), "\(first)")
        }
    }

    @Test func theCallerGivesUpAfterAFailure() async {
        let harness = Harness()
        var seen = 0
        let value: Int? = await harness.retry.run("retrying") {
            throw Failure()
        } failed: { error in
            seen += 1
            return seen < 3
        }
        #expect(value == nil)
        #expect(seen == 3)
        #expect(harness.waits.withLock { $0.count } == 2, "no wait after giving up")
        #expect(harness.lines.count == 2, "no line for the try it gave up after")
    }

    @Test func noTryBeginsPastTheLease() async {
        let harness = Harness()
        var tries = 0
        // Waits of 50, 100, 200 ms end at 350 ms; the next (300 ms) would end past 500 ms.
        let value: Int? = await harness.retry.run("retrying", until: harness.start + .milliseconds(500)) {
            tries += 1
            throw Failure()
        }
        #expect(value == nil)
        #expect(tries == 4)
        #expect(harness.waits.withLock { $0 } == [.milliseconds(50), .milliseconds(100), .milliseconds(200)])
    }

    @Test func aCancelledTaskStopsRetrying() async {
        let harness = Harness()
        let task = Task { () async -> (value: Int?, tries: Int) in
            var tries = 0
            let value: Int? = await harness.retry.run("retrying") {
                tries += 1
                withUnsafeCurrentTask { $0?.cancel() }
                throw Failure()
            }
            return (value, tries)
        }
        let (value, tries) = await task.value
        #expect(value == nil)
        #expect(tries == 1)
        #expect(harness.waits.withLock { $0 }.isEmpty)
    }
}

import BatonModel
import Foundation
import Testing

/// The one retry-or-end decision the worker and the timeout recovery share: pure logic, no server.
@Suite struct RetryDecisionTests {
    private static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// Attempt `attempt` of a task that may be retried `maxRetries` times.
    private static func task(attempt: Int, maxRetries: Int) -> TaskRecord {
        TaskRecord(taskID: "x", taskType: "t", priority: .normal, payload: [:], status: .running, attempt: attempt, maxRetries: maxRetries,
                   timeoutSeconds: 1, createdAt: now, updatedAt: now)
    }

    @Test func aRetryableFailureWithRetriesLeftRetriesAfterTheTypesBackoff() async {
        let decision = await RetryDecision(Self.task(attempt: 1, maxRetries: 2), after: .failed(retryable: true), now: Self.now, jitter: 1) { 2000 }
        #expect(decision == .retry(at: Self.now.addingTimeInterval(2)))
        #expect(decision.retryDue == 1_800_000_002_000)
    }

    @Test func theBackoffDoublesWithEachSpentAttempt() async {
        let decision = await RetryDecision(Self.task(attempt: 3, maxRetries: 5), after: .timedOut, now: Self.now, jitter: 1) { 500 }
        #expect(decision == .retry(at: Self.now.addingTimeInterval(2)))
    }

    @Test func aMissingConfigurationBacksOffOneSecond() async {
        let decision = await RetryDecision(Self.task(attempt: 1, maxRetries: 1), after: .timedOut, now: Self.now, jitter: 1) { nil }
        #expect(decision == .retry(at: Self.now.addingTimeInterval(1)))
    }

    @Test func theLastAttemptEndsAsItFailedAndReadsNoConfiguration() async {
        let read: () async -> Int? = {
            Issue.record("an attempt that ends reads no configuration")
            return 1000
        }
        let failed = await RetryDecision(Self.task(attempt: 3, maxRetries: 2), after: .failed(retryable: true), now: Self.now, retryBackoffMs: read)
        let timedOut = await RetryDecision(Self.task(attempt: 3, maxRetries: 2), after: .timedOut, now: Self.now, retryBackoffMs: read)
        #expect(failed == .end(.failed))
        #expect(timedOut == .end(.timeout))
        #expect(failed.retryDue == 0)
    }

    @Test func aNonRetryableFailureEndsAtOnce() async {
        let decision = await RetryDecision(Self.task(attempt: 1, maxRetries: 5), after: .failed(retryable: false), now: Self.now) { 1000 }
        #expect(decision == .end(.failed))
    }

    @Test func jitterStaysWithinAFifth() async {
        for _ in 0..<50 {
            let decision = await RetryDecision(Self.task(attempt: 1, maxRetries: 1), after: .timedOut, now: Self.now) { 1000 }
            guard case .retry(let at) = decision else {
                Issue.record("\(decision)")
                return
            }
            #expect((0.8...1.2).contains(at.timeIntervalSince(Self.now)))
        }
    }

    @Test func aConfigurationReadThatFailsFailsTheDecision() async {
        struct Unavailable: Error {}
        await #expect(throws: Unavailable.self) {
            _ = try await RetryDecision(Self.task(attempt: 1, maxRetries: 1), after: .timedOut, now: Self.now) { throw Unavailable() }
        }
    }
}

import BatonBroker
import BatonModel
@testable import BatonService
import Foundation
import Testing

/// How the API shows an attempt whose start is not written yet (the
/// deferred start): pure, no server.
@Suite struct ClaimedAttemptsTests {
    private let row = TaskRecord(
        taskID: "t1", taskType: "noop", priority: .normal, payload: [:], status: .queued, attempt: 2, maxRetries: 3, timeoutSeconds: 30,
        createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0)
    )

    @Test func aClaimValueParsesAndAnythingElseIsNone() {
        let claim = AttemptClaim(value: "3|node-a-worker-x1|1700000000123")
        #expect(claim == AttemptClaim(generation: 3, workerID: "node-a-worker-x1", startedAt: Date(timeIntervalSince1970: 1_700_000_000.123)))
        for bad in ["", "3|w", "x|w|1", "3||1", "3|w|", "3|w|1|extra"] { #expect(AttemptClaim(value: bad) == nil, "\(bad)") }
    }

    @Test func aWaitingRowUnderAClaimOfItsGenerationReadsRunningItsNextAttempt() {
        let claim = AttemptClaim(generation: 0, workerID: "w1", startedAt: Date(timeIntervalSince1970: 5))
        let shown = ClaimedAttempts.present(self.row, claim: claim)
        #expect(shown.status == .running)
        #expect(shown.attempt == 3)
        #expect(shown.workerID == "w1")
        #expect(shown.startedAt == Date(timeIntervalSince1970: 5))
    }

    @Test func aClaimOfAnotherGenerationOrAnEndedRowChangesNothing() {
        let stale = AttemptClaim(generation: 1, workerID: "w1", startedAt: Date())
        #expect(ClaimedAttempts.present(self.row, claim: stale) == self.row)
        #expect(ClaimedAttempts.present(self.row, claim: nil) == self.row)
        var ended = self.row
        ended.status = .succeeded
        #expect(ClaimedAttempts.present(ended, claim: AttemptClaim(generation: 0, workerID: "w1", startedAt: Date())) == ended)
        var written = self.row
        written.status = .running
        #expect(ClaimedAttempts.present(written, claim: AttemptClaim(generation: 0, workerID: "w1", startedAt: Date())) == written, "its start is written")
    }

    @Test func countsMoveWhatWorkersHoldBeyondRunningRowsFromTheWaitingOnes() {
        let counts: [TaskStatus: Int64] = [.queued: 5, .scheduled: 2, .retrying: 1, .running: 3, .succeeded: 9]
        let moved = ClaimedAttempts.counts(counts, inFlight: 9)
        #expect(moved[.running] == 9)
        #expect(moved[.queued] == 0)
        #expect(moved[.scheduled] == 1)
        #expect(moved[.retrying] == 1)
        #expect(moved[.succeeded] == 9)
        #expect(ClaimedAttempts.counts(counts, inFlight: 2) == counts, "fewer in flight than RUNNING rows: as MySQL says")
        #expect(ClaimedAttempts.counts([.queued: 1], inFlight: 5) == [.queued: 0, .running: 1], "never below zero")
    }
}

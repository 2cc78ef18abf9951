import BatonBroker
import BatonScheduler
import XCTest

/// The delayed promoter's loop against an in-memory delayed set on a
/// simulated clock (`InMemoryScheduling`): when it moves again at once, how
/// long it sleeps, and that a deposed leader moves nothing. No Redis: the
/// waits are exact. RecoveryTests run it on a real Redis.
final class DelayedPromoterLogicTests: XCTestCase {
    private let term = LeaderState.Term(epoch: 1, lockValue: "leader|1")

    /// Runs the loop until the broker's `stopAfter`-th wait ends it.
    private func run(_ broker: InMemoryScheduling, maxIdle: Duration = .milliseconds(250), batchSize: Int = 1000) async {
        do {
            try await DelayedPromoter(broker: broker, maxIdle: maxIdle, batchSize: batchSize).run(term: self.term)
            XCTFail("the loop ends only when its broker does")
        } catch {
            XCTAssertEqual((error as? BrokerError)?.kind, .unavailable, "\(error)")
        }
    }

    func testFullBatchesMoveAgainWithoutWaiting() async {
        let broker = InMemoryScheduling(holder: self.term.lockValue, stopAfter: 1)
        broker.add(2500, dueIn: -5)
        await self.run(broker)
        XCTAssertEqual(broker.passes, [1000, 1000, 500])
        XCTAssertEqual(broker.waits, [.milliseconds(250)], "nothing left: it sleeps its longest")
    }

    func testSleepsUntilTheEarliestDueTimeThenMovesIt() async {
        let broker = InMemoryScheduling(holder: self.term.lockValue, stopAfter: 2)
        broker.add(3, dueIn: 120)
        broker.add(1, dueIn: 900)
        await self.run(broker)
        XCTAssertEqual(broker.passes, [0, 3])
        // First until the three are due, then no longer than maxIdle though one is due later.
        XCTAssertEqual(broker.waits, [.milliseconds(120), .milliseconds(250)])
        XCTAssertEqual(broker.left, 1)
    }

    func testADeposedLeaderMovesNothing() async throws {
        let broker = InMemoryScheduling(holder: "other|2", stopAfter: 1)
        broker.add(5, dueIn: -1)
        do {
            _ = try await DelayedPromoter(broker: broker).promoteOnce(term: self.term)
            XCTFail("a promotion without the lock must be refused")
        } catch let error as BrokerError {
            XCTAssertEqual(error.kind, .failed)
        }
        XCTAssertEqual(broker.left, 5)
        XCTAssertEqual(broker.waits, [])
    }
}

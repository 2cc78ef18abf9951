import BatonBroker
import BatonScheduler
import BatonTestSupport
import Logging
import ServiceLifecycle
import XCTest

/// The elector's decisions against an in-memory lock (`InMemoryLeadership`):
/// no Redis, so each fault is exact. `ElectorTests` runs it on a real Redis.
final class ElectorLogicTests: XCTestCase {
    private let logger = Logger(label: "elector-logic")

    private func elector(_ lock: InMemoryLeadership, state: LeaderState) -> Elector {
        var configuration = Elector.Configuration()
        configuration.lockTTL = .seconds(10)
        configuration.renewInterval = .milliseconds(30)
        return Elector(broker: lock, nodeID: "node-a", state: state, configuration: configuration, logger: self.logger)
    }

    /// Runs an elector until it leads.
    private func leading(_ lock: InMemoryLeadership, state: LeaderState) async throws -> (ServiceGroup, Task<Void, any Error>) {
        let group = ServiceGroup(services: [self.elector(lock, state: state)], logger: self.logger)
        let running = Task { try await group.run() }
        let leads = try await TestEnvironment.waitUntil(timeout: .seconds(5)) { state.current != nil }
        XCTAssertTrue(leads)
        return (group, running)
    }

    func testTakesAFreeLockAndReleasesItOnAGracefulStop() async throws {
        let lock = InMemoryLeadership()
        let state = LeaderState()
        let (group, running) = try await self.leading(lock, state: state)
        XCTAssertEqual(state.current?.epoch, 1)
        XCTAssertEqual(lock.holder, state.current?.lockValue)
        XCTAssertTrue(state.current?.lockValue.hasPrefix("node-a|") ?? false)
        await group.triggerGracefulShutdown()
        _ = await running.result
        XCTAssertNil(state.current)
        XCTAssertNil(lock.holder, "a graceful stop releases the lock")
    }

    func testARenewalThatFailsStepsDownAtOnceAndTakesNoHeldLockOnceRedisIsBack() async throws {
        let lock = InMemoryLeadership()
        let state = LeaderState()
        let (group, running) = try await self.leading(lock, state: state)
        // Redis away: the lock may still be held, but no one can tell; a
        // leader that cannot renew stops leading well before its TTL.
        lock.setUnavailable(true)
        let steppedDown = try await TestEnvironment.waitUntil(timeout: .seconds(2)) { state.current == nil }
        XCTAssertTrue(steppedDown)
        XCTAssertNotNil(lock.holder, "stepped down without a word from Redis")
        // Back, with its own lock still there: it renews nothing (it leads no
        // more) and cannot acquire a held lock, so it waits for the TTL.
        lock.setUnavailable(false)
        lock.seize(by: "node-b|1")
        try await Task.sleep(for: .milliseconds(200))
        XCTAssertNil(state.current, "a held lock is not taken")
        await group.triggerGracefulShutdown()
        _ = await running.result
        XCTAssertEqual(lock.holder, "node-b|1", "a follower releases nothing")
    }

    func testALockTakenByAnotherNodeEndsTheTerm() async throws {
        let lock = InMemoryLeadership()
        let state = LeaderState()
        let (group, running) = try await self.leading(lock, state: state)
        lock.seize(by: "node-b|7")
        let lost = try await TestEnvironment.waitUntil(timeout: .seconds(2)) { state.current == nil }
        XCTAssertTrue(lost)
        await group.triggerGracefulShutdown()
        _ = await running.result
        XCTAssertEqual(lock.holder, "node-b|7")
    }
}

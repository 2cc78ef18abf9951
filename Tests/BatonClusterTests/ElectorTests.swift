import BatonBroker
import BatonScheduler
import BatonTestSupport
import Foundation
import Logging
import ServiceLifecycle
import XCTest

final class ElectorTests: XCTestCase {
    private var harness: SchedulerHarness!

    override func setUp() async throws { self.harness = try await SchedulerHarness() }
    override func tearDown() async throws { try await self.harness.shutdown() }

    private func configuration(ttl: Duration, renew: Duration) -> Elector.Configuration {
        var configuration = Elector.Configuration()
        configuration.lockTTL = ttl
        configuration.renewInterval = renew
        return configuration
    }

    func testExactlyOneLeaderAtEverySample() async throws {
        let states = (0..<3).map { _ in LeaderState() }
        let electors = states.enumerated().map { index, state in
            Elector(broker: self.harness.broker, nodeID: "node-\(index)", state: state,
                    configuration: self.configuration(ttl: .seconds(2), renew: .milliseconds(300)), logger: self.harness.logger)
        }
        let group = ServiceGroup(services: electors, logger: self.harness.logger)
        let running = Task { try await group.run() }
        let someone = try await TestEnvironment.waitUntil(timeout: .seconds(5)) { states.contains { $0.current != nil } }
        XCTAssertTrue(someone)
        var samples = 0
        let end = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < end {
            let leaders = states.filter { $0.current != nil }
            XCTAssertEqual(leaders.count, 1, "sample \(samples)")
            let lock = try await self.harness.inspector.leaderLock()
            XCTAssertEqual(lock, leaders.first?.current?.lockValue)
            samples += 1
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTAssertGreaterThan(samples, 100)

        // A graceful stop releases the lock at once.
        await group.triggerGracefulShutdown()
        _ = await running.result
        let lock = try await self.harness.inspector.leaderLock()
        XCTAssertNil(lock)
    }

    func testNewLeaderWithHigherEpochAfterRenewalsStop() async throws {
        // A leader that stops renewing (paused, partitioned): its lock just expires.
        let ttl = Duration.seconds(2)
        let renew = Duration.milliseconds(500)
        try await self.harness.inspector.setLeaderLock("stalled|1", ttl: ttl)
        let oldEpoch = try await self.harness.inspector.bumpLeaderEpoch()
        let started = ContinuousClock.now

        let state = LeaderState()
        let elector = Elector(broker: self.harness.broker, nodeID: "successor", state: state,
                              configuration: self.configuration(ttl: ttl, renew: renew), logger: self.harness.logger)
        let group = ServiceGroup(services: [elector], logger: self.harness.logger)
        let running = Task { try await group.run() }
        let took = try await TestEnvironment.waitUntil(timeout: .seconds(5)) { state.current != nil }
        XCTAssertTrue(took)
        XCTAssertLessThanOrEqual(ContinuousClock.now - started, ttl + renew + .milliseconds(300))
        XCTAssertGreaterThan(state.current?.epoch ?? 0, oldEpoch)
        await group.triggerGracefulShutdown()
        _ = await running.result
    }

    func testLeaderStepsDownWhenItsLockIsTaken() async throws {
        let state = LeaderState()
        let elector = Elector(broker: self.harness.broker, nodeID: "a", state: state,
                              configuration: self.configuration(ttl: .seconds(5), renew: .milliseconds(200)), logger: self.harness.logger)
        let group = ServiceGroup(services: [elector], logger: self.harness.logger)
        let running = Task { try await group.run() }
        let leads = try await TestEnvironment.waitUntil { state.current != nil }
        XCTAssertTrue(leads)
        // Someone else holds the lock now (e.g. after this node was paused past its TTL).
        try await self.harness.inspector.setLeaderLock("other|2", ttl: .seconds(60))
        let steppedDown = try await TestEnvironment.waitUntil(timeout: .seconds(2)) { state.current == nil }
        XCTAssertTrue(steppedDown)
        await group.triggerGracefulShutdown()
        _ = await running.result
        // It did not delete the other node's lock.
        let lock = try await self.harness.inspector.leaderLock()
        XCTAssertEqual(lock, "other|2")
    }
}

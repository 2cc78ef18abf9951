import BatonBroker
import BatonRedis
import BatonTestSupport
import Foundation
import Logging
import XCTest

/// Heartbeats and the leader lock have connections of their own: with every
/// other connection of the node busy, they still go through at once.
final class ControlConnectionTests: XCTestCase {
    func testHeartbeatsAndTheLockPassASaturatedPool() async throws {
        var busyConfiguration = try RedisConfiguration(url: TestEnvironment.redisURL)
        busyConfiguration.maxConnections = 1
        let busy = RedisClient(configuration: busyConfiguration, logger: Logger(label: "test"))
        var controlConfiguration = busyConfiguration
        controlConfiguration.maxConnections = 2
        let control = RedisClient(configuration: controlConfiguration, logger: Logger(label: "test"))
        let keys = RedisKeys(namespace: TestEnvironment.uniqueName("control"))
        let broker = RedisBroker(redis: busy, control: control, keys: keys)

        // The node's other connection is held for 2 s, and more calls queue behind it.
        async let holder = busy.send("BLPOP", "\(keys.prefix):nothing", "2")
        try await Task.sleep(for: .milliseconds(100))
        let queued = Task { try await busy.send("PING") }

        let began = ContinuousClock.now
        let epoch = try await broker.acquireLeadership(lockValue: "node-1|token", ttl: .seconds(5))
        XCTAssertNotNil(epoch)
        let renewed = try await broker.renewLeadership(lockValue: "node-1|token", ttl: .seconds(5))
        XCTAssertTrue(renewed)
        _ = try await broker.heartbeat(workerID: "w-control", ttl: .seconds(5), registration: WorkerRegistration(nodeID: "n-control", capacity: 1))
        let took = ContinuousClock.now - began
        XCTAssertLessThan(took, .milliseconds(500), "the lock and a heartbeat waited behind other calls")

        _ = try await holder
        _ = try await queued.value
        let left = try await control.send("KEYS", "\(keys.prefix):*").array?.compactMap(\.bytes) ?? []
        if !left.isEmpty { try await control.send(RedisCommand("DEL", left)) }
        try await busy.shutdown()
        try await control.shutdown()
    }
}

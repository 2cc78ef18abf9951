import BatonBroker
import BatonModel
import BatonRedis
import BatonTestSupport
import Foundation
import Logging
import XCTest

/// Redis at `maxmemory`: a script is refused whole (nothing half-moved), and a
/// node refuses a Redis that would evict its queues.
final class RedisMemorySafetyTests: XCTestCase {
    private let server = PrivateServer(.redis, port: 16393, name: "redis-memory-test")
    private var port: Int { self.server.port }

    override func setUp() async throws { try self.server.start() }
    override func tearDown() async throws { try self.server.stop() }

    func testAtMaxmemoryScriptsAreRefusedWholeAndQueuesStayIntact() async throws {
        let redis = try RedisClient(url: "redis://127.0.0.1:\(self.port)", logger: Logger(label: "memory-test"))
        let broker = RedisBroker(redis: redis, keys: RedisKeys(namespace: "mem"))
        let inspector = BrokerInspector(broker)
        let now = Date()
        let tasks = (0..<10).map { _ in
            TaskRecord(taskID: TaskID.make(), taskType: "noop", priority: .normal, payload: [:], status: .queued,
                       maxRetries: 0, timeoutSeconds: 60, createdAt: now, updatedAt: now)
        }
        try await broker.enqueue(tasks)
        try await inspector.setLeaderLock("test|1")
        _ = try await broker.heartbeat(workerID: "w1", ttl: .seconds(600), registration: WorkerRegistration(nodeID: "n1", capacity: 100))

        // Past its limit, with a policy that never evicts.
        try await redis.send("CONFIG", "SET", "maxmemory-policy", "noeviction")
        try await redis.send("CONFIG", "SET", "maxmemory", "1")

        let more = TaskRecord(taskID: TaskID.make(), taskType: "noop", priority: .normal, payload: [:], status: .queued,
                              maxRetries: 0, timeoutSeconds: 60, createdAt: now, updatedAt: now)
        do {
            try await broker.enqueue([more])
            XCTFail("enqueue must be refused at maxmemory")
        } catch {
            XCTAssertTrue("\(error)".contains("OOM"), "\(error)")
        }
        do {
            _ = try await broker.dispatch(
                fence: "test|1", batch: 100, heartbeatTTL: .seconds(60), strategy: "least_task", weights: (0, 0), lookAhead: 256, highReserve: 0
            )
            XCTFail("dispatch must be refused at maxmemory")
        } catch {
            XCTAssertTrue("\(error)".contains("OOM"), "\(error)")
        }
        let queued = try await inspector.count(.queue(.normal))
        XCTAssertEqual(queued, 10, "nothing popped by a refused script")
        let onWorker = try await inspector.count(.workerQueue("w1", .normal))
        XCTAssertEqual(onWorker, 0)

        // Memory back: everything works again.
        try await redis.send("CONFIG", "SET", "maxmemory", "0")
        try await broker.enqueue([more])
        try await redis.shutdown()
    }

    func testANodeRefusesARedisThatEvicts() throws {
        let root = TestEnvironment.repositoryRoot
        let status = try ChildProcess.run(
            "/usr/bin/redis-cli", ["-p", String(self.port), "CONFIG", "SET", "maxmemory-policy", "allkeys-lru"], environment: [:]
        )
        XCTAssertEqual(status, 0)
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("node-logs"))
        defer { try? FileManager.default.removeItem(at: logs) }
        let stderr = logs.appendingPathComponent("stderr.txt")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let started = ContinuousClock.now
        let node = [
            root.appendingPathComponent(".build/debug/baton-node").path,
            "--id", "evict-test", "--grpc-port", "19391", "--worker-port", "19392",
            "--redis", "redis://127.0.0.1:\(self.port)", "--mysql", TestEnvironment.mysqlURL,
            "--migrations", root.appendingPathComponent("sql").path, "--log-dir", logs.path,
        ]
        let exit = try ChildProcess.run(
            "/bin/sh", ["-c", "exec \"$@\" 2>\"$0\"", stderr.path] + node, environment: ProcessInfo.processInfo.environment
        )
        XCTAssertEqual(exit, 1, "the node must refuse to run on an evicting Redis")
        let message = (try? String(contentsOf: stderr, encoding: .utf8)) ?? ""
        XCTAssertTrue(message.contains("maxmemory-policy is allkeys-lru") && message.contains("noeviction"), message)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(30))
    }
}

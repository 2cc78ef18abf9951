import BatonProto
import BatonRedis
import BatonTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Synchronization
import XCTest

/// Thousands (the issue: 20,000) of unauthenticated health Watch streams against a node whose worker
/// runs tasks: the streams cost the stores nothing (one background probe),
/// extras past the per-node cap are refused with RESOURCE_EXHAUSTED, and the
/// worker's heartbeats stay fresh (no reclaim, no task run twice).
final class HealthFloodTests: XCTestCase {
    /// What the flood saw.
    final class Tally: Sendable {
        struct Counts {
            var watching = 0
            var refused = 0
            /// Streams that watched again after their connection closed before they heard anything.
            var rewatched = 0
            var other: [String] = []
        }

        let counts = Mutex(Counts())
        var total: Int { self.counts.withLock { $0.watching + $0.refused + $0.other.count } }
    }

    /// The 20,000 streams over 200 connections, the node's cap at
    /// half (about a minute: this test's own debug-build client is the
    /// slower side); `BATON_HEALTH_FLOOD_STREAMS` sets another number.
    static let streams = Int(ProcessInfo.processInfo.environment["BATON_HEALTH_FLOOD_STREAMS"] ?? "") ?? 20_000
    static let connections = max(1, streams / 100)
    static let maxWatchers = streams / 2

    func testAHealthWatchFloodDoesNotStarveTheWorker() async throws {
        let node = try WireNode(arguments: [
            "--heartbeat-interval", "1", "--heartbeat-ttl", "4", "--health-max-watchers", String(Self.maxWatchers),
            "--grpc-max-streams", String(Self.streams / Self.connections), "--health-probe-interval-ms", "500",
        ])
        defer { node.stop() }
        try await node.waitReady()
        let redis = try RedisClient(url: TestEnvironment.redisURL, logger: Logger(label: "test"))
        defer { Task { try? await redis.shutdown() } }
        let port = node.grpcPort
        var options = CallOptions.defaults
        options.timeout = .seconds(20)

        let type = "wire_sleep_\(node.id.suffix(8))"
        try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { client in
            _ = try await Baton_V1_AdminService.Client(wrapping: client).putTaskConfig(
                .with {
                    $0.config = .with {
                        $0.taskType = type
                        $0.executor = "local"
                        $0.endpoint = "sleep"
                        $0.timeoutSeconds = 30
                        $0.maxRetries = 3
                        $0.enabled = true
                    }
                },
                options: options
            )
        }

        let pingsBefore = try await Self.redisPings(redis)
        let probesBefore = try node.metric("baton_health_probes_total") ?? 0
        let started = ContinuousClock.now
        let tally = Tally()
        let flood = Self.startFlood(port: port, tally: tally)
        defer { flood.cancel() }

        let allOpen = try await TestEnvironment.waitUntil(timeout: .seconds(Double(Self.streams) / 40 + 20), every: .milliseconds(200)) { tally.total >= Self.streams }
        let openedIn = ContinuousClock.now - started
        let counts = tally.counts.withLock { $0 }
        XCTAssertTrue(allOpen, "streams answered: \(tally.total) of \(Self.streams) after \(openedIn)")
        XCTAssertEqual(counts.watching, Self.maxWatchers, "watchers up to the per-node cap")
        XCTAssertEqual(counts.refused, Self.streams - Self.maxWatchers, "the rest refused with RESOURCE_EXHAUSTED")
        XCTAssertEqual(counts.other.count, 0, "other errors: \(counts.other.prefix(3))")
        if counts.rewatched > 0 { print("health flood: \(counts.rewatched) streams watched again after their connection closed unanswered") }

        // Work while the watchers stay open: each task runs once, on this node's one worker.
        let tasks: [Baton_V1_Task] = try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { client in
            let service = Baton_V1_TaskService.Client(wrapping: client)
            let created = try await service.batchCreateTasks(
                .with { $0.tasks = (0..<40).map { _ in .with { $0.taskType = type; $0.payload = ["ms": "200"] } } }, options: options
            ).tasks
            // Longer than the heartbeat TTL, so a starved heartbeat would show.
            try await Task.sleep(for: .seconds(5))
            var finished: [Baton_V1_Task] = []
            _ = try await TestEnvironment.waitUntil(timeout: .seconds(30), every: .milliseconds(250)) {
                finished = []
                for task in created { finished.append(try await service.getTask(.with { $0.taskID = task.taskID }, options: options).task) }
                return finished.allSatisfy { $0.status == .succeeded }
            }
            return finished
        }
        let elapsed = ContinuousClock.now - started
        let pings = try await Self.redisPings(redis) - pingsBefore
        let probes = (try node.metric("baton_health_probes_total") ?? 0) - probesBefore
        XCTAssertEqual(tasks.filter { $0.status == .succeeded }.count, 40, "every task succeeded")
        XCTAssertEqual(tasks.filter { $0.attempt != 1 }.count, 0, "no task ran twice")
        XCTAssertEqual(Set(tasks.map(\.workerID)).count, 1, "one worker, never reclaimed")
        XCTAssertFalse(node.log.contains("reclaimed dead worker"), "the worker was reclaimed")
        // One probe (a SELECT 1 and a PING) per 500 ms whatever the streams; per-stream polling would be a SELECT and a PING per stream per second.
        let expected = elapsed / .milliseconds(500) + 3
        XCTAssertLessThanOrEqual(probes, expected, "probes \(probes) in \(elapsed)")
        XCTAssertLessThan(pings, 1_000, "Redis PINGs in \(elapsed) (shared server: others ping too)")
        print("health flood: \(counts.watching) watching, \(counts.refused) refused, opened in \(openedIn); \(Int(probes)) probes and \(pings) Redis PINGs in \(elapsed); node fds \(node.openFiles)")
    }

    static func startFlood(port: Int, tally: Tally) -> Task<Void, Never> {
        Task { await Self.flood(port: port, tally: tally) }
    }

    /// `streams` health watches spread over `connections` connections, held until cancelled.
    static func flood(port: Int, tally: Tally) async {
        await withTaskGroup(of: Void.self) { connections in
            for index in 0..<Self.connections {
                connections.addTask {
                    // Connections arrive over a few seconds, as clients would: 200
                    // at one instant overflow the listen backlog and some SYNs are
                    // retried past the client's 10 s connect timeout.
                    try? await Task.sleep(for: .milliseconds(25 * index))
                    try? await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { client in
                        let health = Grpc_Health_V1_Health.Client(wrapping: client)
                        // As a real watcher would: wait for the connection rather
                        // than fail at the first connect timeout. On a loaded CI
                        // machine (both sides debug builds, two cores) a node busy
                        // refusing thousands of streams accepts late, and a few
                        // SYNs were retried past the 10 s connect timeout.
                        let options = { var options = CallOptions.defaults; options.waitForReady = true; return options }()
                        await withTaskGroup(of: Void.self) { streams in
                            for _ in 0..<(Self.streams / Self.connections) {
                                streams.addTask {
                                    // A stream whose connection closed before it heard
                                    // anything (its client slow to send the HTTP/2
                                    // preface on a loaded machine: the node ends such
                                    // handshakes) watches again, as a real watcher would;
                                    // one that was watching and lost it is an error.
                                    let counted = Atomic(false)
                                    for retry in 0... {
                                        do {
                                            try await health.watch(.init(), options: options) { response in
                                                for try await _ in response.messages where !counted.load(ordering: .relaxed) {
                                                    tally.counts.withLock { $0.watching += 1 }
                                                    counted.store(true, ordering: .relaxed)
                                                }
                                            }
                                        } catch let error as RPCError where error.code == .resourceExhausted {
                                            tally.counts.withLock { $0.refused += 1 }
                                        } catch let error as RPCError where error.code == .unavailable && !counted.load(ordering: .relaxed) && retry < 20 && !Task.isCancelled {
                                            // Backing off as a real watcher does: the client's
                                            // channel reconnects meanwhile (three immediate tries
                                            // all met "subchannel isn't ready" on a loaded CI run).
                                            tally.counts.withLock { $0.rewatched += 1 }
                                            try? await Task.sleep(for: .milliseconds(100 * min(retry + 1, 10)))
                                            continue
                                        } catch is CancellationError {
                                        } catch {
                                            if !Task.isCancelled { tally.counts.withLock { $0.other.append("\(error)") } }
                                        }
                                        break
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static func redisPings(_ redis: RedisClient) async throws -> Int {
        let info = try await redis.send("INFO", "commandstats").string ?? ""
        guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_ping:") }),
            let calls = line.split(separator: ",").first?.split(separator: "=").last
        else { return 0 }
        return Int(calls) ?? 0
    }
}

import BatonHTTP
import BatonModel
import BatonProto
import BatonTestSupport
import BatonWorker
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import Synchronization
import XCTest

/// The allow-list enforced by a real worker at call time, grpcs:// against a
/// local TLS service, and endpoints' secrets kept out of errors and logs.
/// Services are real servers on loopback; names "resolve" through a table
/// the test owns (it cannot change DNS), which is all the worker is told.
final class ExecutorEgressTests: XCTestCase {
    /// Names the test decides the addresses of; unknown names fail like NXDOMAIN.
    final class TableResolver: AddressResolver {
        let table: Mutex<[String: [IPAddress]]>

        init(_ table: [String: [String]]) {
            self.table = Mutex(table.mapValues { $0.map { IPAddress($0)! } })
        }

        func set(_ host: String, _ addresses: [String]) {
            self.table.withLock { $0[host] = addresses.map { IPAddress($0)! } }
        }

        func resolve(_ host: String) async throws -> [IPAddress] {
            guard let addresses = self.table.withLock({ $0[host] }) else {
                throw SystemAddressResolver.LookupFailed(host: host, reason: "unknown name")
            }
            return addresses
        }
    }

    private final class Hits: Sendable {
        let count = Atomic<Int>(0)
    }

    /// An HTTP service on a free loopback port that counts the calls it gets.
    private func withHTTPService(_ hits: Hits, _ body: (Int) async throws -> Void) async throws {
        let server = SimpleRoutes.server(
            host: "127.0.0.1", port: 0,
            routes: ["/ok": { _ in
                hits.count.add(1, ordering: .relaxed)
                return .init(body: "reached")
            }],
            logger: Logger(label: "http-service")
        )
        let group = ServiceGroup(services: [server], logger: Logger(label: "http-service"))
        let running = Task { try await group.run() }
        let port = try await server.listeningPort()
        do {
            try await body(port)
        } catch {
            await group.triggerGracefulShutdown()
            _ = await running.result
            throw error
        }
        await group.triggerGracefulShutdown()
        _ = await running.result
    }

    /// A config written straight into the store — as a node without an
    /// allow-list would have written it, past any API check — is refused by
    /// a worker that has one, at call time, for the host and for the port,
    /// once (not retried), and the service never sees the call.
    func testAConfigWrittenPastTheAPIIsRefusedAtCallTime() async throws {
        let hits = Hits()
        try await self.withHTTPService(hits) { port in
            let allowList = try ExecutorAllowList(parsing: "127.0.0.1:\(port),allowed.test:\(port)")
            let resolver = TableResolver(["allowed.test": ["127.0.0.1"], "other.test": ["127.0.0.2"]])
            let harness = try await WorkerHarness(egress: EgressGuard(allowList: allowList, resolver: resolver))
            do {
                let allowed = try await harness.type("allowed", handler: "http://127.0.0.1:\(port)/ok", executor: .http)
                let ok = try await harness.waitForStatus(try await harness.create(type: allowed).taskID, [.succeeded, .failed])
                XCTAssertEqual(ok.status, .succeeded, ok.error ?? "")
                XCTAssertEqual(hits.count.load(ordering: .relaxed), 1)

                let byName = try await harness.type("by_name", handler: "http://allowed.test:\(port)/ok", executor: .http)
                let named = try await harness.waitForStatus(try await harness.create(type: byName).taskID, [.succeeded, .failed])
                XCTAssertEqual(named.status, .succeeded, named.error ?? "")
                XCTAssertEqual(hits.count.load(ordering: .relaxed), 2)

                // A name neither listed nor resolving into a listed address, a listed address on another port, an unlisted block.
                for (name, endpoint, executor) in [
                    ("other_host", "http://other.test:\(port)/ok", TaskConfigRecord.Executor.http),
                    ("other_port", "http://127.0.0.1:\(port + 1)/ok", .http),
                    ("other_block", "http://10.1.2.3:\(port)/ok", .http),
                    ("grpc_port", "127.0.0.1:\(port + 1)", .grpc),
                    ("grpc_host", "grpcs://other.test:\(port + 1)", .grpc),
                ] {
                    let type = try await harness.type(name, handler: endpoint, executor: executor, retries: 3, backoffMs: 50)
                    let refused = try await harness.waitForStatus(try await harness.create(type: type, retries: 3).taskID, [.succeeded, .failed])
                    XCTAssertEqual(refused.status, .failed, endpoint)
                    XCTAssertEqual(refused.attempt, 1, "a refusal is not retried: \(endpoint)")
                    XCTAssertTrue(refused.error?.contains("refused") ?? false, refused.error ?? "")
                    XCTAssertTrue(refused.error?.contains("not in --executor-allow-hosts") ?? false, refused.error ?? "")
                }
                XCTAssertEqual(hits.count.load(ordering: .relaxed), 2, "no refused call reached the service")
            } catch {
                try await harness.shutdown()
                throw error
            }
            try await harness.shutdown()
        }
    }

    /// A name that resolves to the metadata address is refused with no
    /// allow-list at all, by both executors; a name with a metadata address
    /// and a good one goes to the good one only; and a name whose answer
    /// changes to the metadata address is refused from that call on.
    func testANameResolvingToTheMetadataAddressIsRefused() async throws {
        let hits = Hits()
        try await self.withHTTPService(hits) { port in
            let resolver = TableResolver([
                "metadata.test": ["169.254.169.254"],
                "mapped.test": ["::ffff:169.254.169.254"],
                "mixed.test": ["169.254.169.254", "127.0.0.1"],
                "rebinding.test": ["127.0.0.1"],
            ])
            let harness = try await WorkerHarness(egress: EgressGuard(allowList: .unrestricted, resolver: resolver))
            do {
                for (name, endpoint, executor) in [
                    ("metadata_http", "http://metadata.test:\(port)/ok", TaskConfigRecord.Executor.http),
                    ("metadata_mapped", "http://mapped.test:\(port)/ok", .http),
                    ("metadata_grpc", "metadata.test:\(port)", .grpc),
                    ("metadata_literal", "http://169.254.169.254/latest/meta-data/", .http),
                ] {
                    let type = try await harness.type(name, handler: endpoint, executor: executor, retries: 3, backoffMs: 50)
                    let refused = try await harness.waitForStatus(try await harness.create(type: type, retries: 3).taskID, [.succeeded, .failed])
                    XCTAssertEqual(refused.status, .failed, endpoint)
                    XCTAssertEqual(refused.attempt, 1, endpoint)
                    let error = refused.error ?? ""
                    XCTAssertTrue(error.contains("refused") && error.contains("link-local and metadata"), error)
                    if !endpoint.contains("169.254.169.254/") { XCTAssertTrue(error.contains("resolves to"), error) }
                }
                XCTAssertEqual(hits.count.load(ordering: .relaxed), 0)

                // Succeeds only through the pin: no real DNS knows these names.
                let mixed = try await harness.type("mixed", handler: "http://mixed.test:\(port)/ok", executor: .http)
                let reached = try await harness.waitForStatus(try await harness.create(type: mixed).taskID, [.succeeded, .failed])
                XCTAssertEqual(reached.status, .succeeded, reached.error ?? "")
                XCTAssertEqual(reached.result, "reached")

                let rebinding = try await harness.type("rebinding", handler: "http://rebinding.test:\(port)/ok", executor: .http)
                let first = try await harness.waitForStatus(try await harness.create(type: rebinding).taskID, [.succeeded, .failed])
                XCTAssertEqual(first.status, .succeeded, first.error ?? "")
                resolver.set("rebinding.test", ["169.254.169.254"])
                let second = try await harness.waitForStatus(try await harness.create(type: rebinding).taskID, [.succeeded, .failed])
                XCTAssertEqual(second.status, .failed, "the pooled connection to the old address must not be reused")
                XCTAssertEqual(hits.count.load(ordering: .relaxed), 2)
            } catch {
                try await harness.shutdown()
                throw error
            }
            try await harness.shutdown()
        }
    }

    /// Pinned, the client no longer falls back across a name's addresses by
    /// itself: a failed call moves the pin to the next allowed address, so
    /// the retry reaches the service.
    func testAFailedAddressMovesThePinToTheNextAllowedOne() async throws {
        let hits = Hits()
        try await self.withHTTPService(hits) { port in
            // 127.0.0.3 is loopback too, but nothing listens there on this port.
            let resolver = TableResolver(["dual.test": ["127.0.0.3", "127.0.0.1"]])
            let harness = try await WorkerHarness(egress: EgressGuard(allowList: .unrestricted, resolver: resolver))
            do {
                let type = try await harness.type("dual", handler: "http://dual.test:\(port)/ok", executor: .http, timeout: 20, retries: 1, backoffMs: 50)
                let task = try await harness.waitForStatus(try await harness.create(type: type, retries: 1, timeout: 20).taskID, [.succeeded, .failed])
                XCTAssertEqual(task.status, .succeeded, task.error ?? "")
                XCTAssertEqual(task.attempt, 2, "the first attempt went to the first address")
                XCTAssertEqual(hits.count.load(ordering: .relaxed), 1)
            } catch {
                try await harness.shutdown()
                throw error
            }
            try await harness.shutdown()
        }
    }

    /// Endpoints carrying credentials, failing every way an endpoint can
    /// fail: no `SECRET` or password in the task's error, its log lines or
    /// the worker's process log.
    func testNoEndpointSecretInAnyErrorOrLog() async throws {
        let capture = LogCapture()
        let resolver = TableResolver(["metadata.test": ["169.254.169.254"]])
        let harness = try await WorkerHarness(
            egress: EgressGuard(allowList: try ExecutorAllowList(parsing: "127.0.0.1"), resolver: resolver), logger: capture.logger
        )
        do {
            var tasks: [String] = []
            for (name, endpoint, executor) in [
                ("down", "http://user:pw-SECRET@127.0.0.1:1/x?token=SECRET", TaskConfigRecord.Executor.http),
                ("refused", "http://user:pw-SECRET@10.0.0.1:8080/x?token=SECRET#SECRET", .http),
                ("metadata", "https://user:pw-SECRET@metadata.test/x?token=SECRET", .http),
                ("unknown", "http://nowhere.test/x?token=SECRET", .http),
                ("grpc_userinfo", "grpcs://user:pw-SECRET@127.0.0.1:1", .grpc),
                ("grpc_down", "127.0.0.1:1", .grpc),
            ] {
                // AsyncHTTPClient retries a refused connection until its 5 s connect timeout: the attempt must outlast it.
                let type = try await harness.type(name, handler: endpoint, executor: executor, timeout: 10)
                tasks.append(try await harness.create(type: type, timeout: 10).taskID)
            }
            for id in tasks {
                let task = try await harness.waitForStatus(id, [.failed, .timeout])
                let error = task.error ?? ""
                XCTAssertFalse(error.isEmpty, id)
                XCTAssertFalse(error.contains("SECRET") || error.contains("pw-"), error)
                // Log lines are written in batches, maybe after the outcome.
                let logged = try await TestEnvironment.waitUntil(timeout: .seconds(5)) {
                    try await harness.logs(id).joined(separator: "\n").contains(error.prefix(40))
                }
                XCTAssertTrue(logged, "the failure is in the task's log: \(error)")
                let logs = try await harness.logs(id).joined(separator: "\n")
                XCTAssertFalse(logs.contains("SECRET") || logs.contains("pw-"), logs)
            }
            let down = try await harness.task(tasks[0])
            XCTAssertTrue(down.error?.contains("http://127.0.0.1:1/x?…") ?? false, down.error ?? "")
            let userinfo = try await harness.task(tasks[4])
            XCTAssertTrue(userinfo.error?.contains("grpcs://127.0.0.1:1") ?? false, userinfo.error ?? "")
        } catch {
            try await harness.shutdown()
            throw error
        }
        try await harness.shutdown()
        let processLog = capture.all
        XCTAssertFalse(processLog.isEmpty)
        XCTAssertFalse(processLog.contains("SECRET") || processLog.contains("pw-"), processLog)
    }
}

import BatonModel
import BatonProto
import BatonTestSupport
import BatonWorker
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization
import XCTest

/// grpcs:// endpoints against gRPC business services on loopback with
/// certificates made for the test by openssl: the worker trusts the test CA
/// (`--executor-ca-file`), connects to the checked address and still checks
/// the certificate against the endpoint's name.
final class GRPCSExecutorTests: XCTestCase {
    private var certificates: TestCertificates?

    override func setUp() async throws {
        self.certificates = try TestCertificates(
            prefix: "grpcs",
            authorities: ["test-ca", "other-ca"],
            leaves: [
                ("executor", "test-ca", "subjectAltName=DNS:executor.test"),
                ("stranger", "other-ca", "subjectAltName=DNS:stranger.test"),
            ]
        )
    }

    override func tearDown() async throws {
        self.certificates?.remove()
    }

    private func path(_ name: String) -> String { self.certificates?.path(name) ?? name }

    /// A TLS business service on a free loopback port with `name`'s certificate.
    private func serve(_ name: String) async throws -> (port: Int, stop: @Sendable () async -> Void) {
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: 0),
            transportSecurity: .tls(certificateChain: [.file(path: self.path("\(name).pem"), format: .pem)], privateKey: .file(path: self.path("\(name).key"), format: .pem))
        )
        let server = GRPCServer(transport: transport, services: [RemoteExecutorTests.BusinessService(aborted: {})])
        let serving = Task { try await server.serve() }
        let port = try await transport.listeningAddress.ipv4!.port
        return (port, {
            server.beginGracefulShutdown()
            _ = await serving.result
        })
    }

    func testGRPCSWithTheClustersCA() async throws {
        let executor = try await self.serve("executor")
        let stranger = try await self.serve("stranger")
        let resolver = ExecutorEgressTests.TableResolver([
            "executor.test": ["127.0.0.1"], "wrong-name.test": ["127.0.0.1"], "stranger.test": ["127.0.0.1"],
        ])
        let harness = try await WorkerHarness(egress: EgressGuard(allowList: .unrestricted, resolver: resolver), trustRootsFile: self.path("test-ca.pem"))
        do {
            func start(_ name: String, _ endpoint: String) async throws -> String {
                let type = try await harness.type(name, handler: endpoint, executor: .grpc, timeout: 5)
                return try await harness.create(type: type, payload: ["amount": "3.00"], timeout: 5).taskID
            }
            func ended(_ id: String) async throws -> TaskRecord {
                _ = try await TestEnvironment.waitUntil(timeout: .seconds(15)) { try await harness.task(id).status.isTerminal }
                return try await harness.task(id)
            }
            // The failing ones run side by side: each waits out its 5 s attempt.
            let ok = try await start("tls", "grpcs://executor.test:\(executor.port)")
            let plaintext = try await start("plaintext", "grpc://executor.test:\(executor.port)")
            let wrongName = try await start("wrong_name", "grpcs://wrong-name.test:\(executor.port)")
            let untrusted = try await start("untrusted", "grpcs://stranger.test:\(stranger.port)")

            let succeeded = try await ended(ok)
            XCTAssertEqual(succeeded.status, .succeeded, succeeded.error ?? "")
            XCTAssertEqual(succeeded.result, "charged 3.00 on attempt 1")
            let failures = [
                (plaintext, "plaintext must not talk to a TLS service"),
                (wrongName, "the certificate must carry the endpoint's name"),
                (untrusted, "a certificate from a CA the worker does not trust must fail"),
            ]
            for (id, why) in failures {
                let task = try await ended(id)
                XCTAssertNotEqual(task.status, .succeeded, "\(why): \(task.error ?? "")")
            }
        } catch {
            try await harness.shutdown()
            throw error
        }
        try await harness.shutdown()
        await executor.stop()
        await stranger.stop()
    }
}

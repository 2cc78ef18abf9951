import BatonClient
import BatonGRPC
import BatonTestSupport
import Foundation
import GRPCCore
import XCTest

/// TLS and mutual TLS with certificates made for the test by openssl.
final class TLSTests: XCTestCase {
    private var certificates: TestCertificates?

    override func setUp() async throws {
        self.certificates = try TestCertificates(
            prefix: "tls",
            authorities: ["test-ca", "other-ca"],
            leaves: [
                ("server", "test-ca", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
                ("client", "test-ca", "extendedKeyUsage=clientAuth"),
                ("stranger", "other-ca", "extendedKeyUsage=clientAuth"),
            ]
        )
    }

    override func tearDown() async throws {
        self.certificates?.remove()
    }

    private func path(_ name: String) -> String { self.certificates?.path(name) ?? name }

    private func stats(_ harness: APIHarness, tls: ClientTLS?) async throws -> RPCError.Code? {
        let port = try await harness.server.listeningPort()
        do {
            _ = try await withBatonClient(host: "localhost", port: port, tls: tls) { client in
                try await client.tasks.getStats(.init(), options: { var o = CallOptions.defaults; o.timeout = .seconds(5); return o }())
            }
            return nil
        } catch let error as RPCError {
            return error.code
        }
    }

    func testTLSHandshakeAndAnUntrustingClient() async throws {
        let harness = try await APIHarness(tls: ServerTLS(certificatePath: self.path("server.pem"), keyPath: self.path("server.key")))
        let trusted = try await self.stats(harness, tls: ClientTLS(caCertificatePath: self.path("test-ca.pem")))
        XCTAssertNil(trusted, "a client trusting the CA connects")
        let untrusting = try await self.stats(harness, tls: ClientTLS(caCertificatePath: self.path("other-ca.pem")))
        XCTAssertNotNil(untrusting, "a client that does not trust the CA must fail")
        let plaintext = try await self.stats(harness, tls: nil)
        XCTAssertNotNil(plaintext, "plaintext must not reach a TLS server")
        try await harness.shutdown()
    }

    func testMutualTLSRefusesClientsWithoutAGoodCertificate() async throws {
        let harness = try await APIHarness(
            tls: ServerTLS(certificatePath: self.path("server.pem"), keyPath: self.path("server.key"), clientCAPath: self.path("test-ca.pem"))
        )
        let good = try await self.stats(
            harness, tls: ClientTLS(caCertificatePath: self.path("test-ca.pem"), certificatePath: self.path("client.pem"), keyPath: self.path("client.key"))
        )
        XCTAssertNil(good, "a client with a certificate from the CA connects")
        let anonymous = try await self.stats(harness, tls: ClientTLS(caCertificatePath: self.path("test-ca.pem")))
        XCTAssertNotNil(anonymous, "a client without a certificate must be refused")
        let stranger = try await self.stats(
            harness, tls: ClientTLS(caCertificatePath: self.path("test-ca.pem"), certificatePath: self.path("stranger.pem"), keyPath: self.path("stranger.key"))
        )
        XCTAssertNotNil(stranger, "a client with a certificate from another CA must be refused")
        try await harness.shutdown()
    }
}

import BatonModel
import Testing

/// The secure-by-default rule as a pure value: which hosts are loopback and
/// which settings a node off loopback must have (or waive by name).
@Suite struct ExposureRuleTests {
    private func rule(
        _ host: String, api: Bool = true, authenticates: Bool = false, encrypts: Bool = false, allowOpenAPI: Bool = false, allowPlaintext: Bool = false
    ) -> ExposureRule {
        ExposureRule(
            host: host, servesAPI: api, authenticates: authenticates, encrypts: encrypts, allowOpenAPI: allowOpenAPI, allowPlaintext: allowPlaintext
        )
    }

    @Test(arguments: ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "[::1]", "localhost", "LOCALHOST", "localhost.", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"])
    func loopbackStaysAsEasyAsEver(host: String) {
        #expect(ExposureRule.isLoopback(host))
        #expect(self.rule(host).refusals.isEmpty, "no keys, no TLS, no flag: fine on \(host)")
    }

    @Test(arguments: ["0.0.0.0", "::", "10.0.0.5", "128.0.0.1", "126.255.255.255", "::2", "example.internal", "localhost.example", "my-host", ""])
    func everythingElseIsOffLoopback(host: String) {
        #expect(!ExposureRule.isLoopback(host))
        #expect(self.rule(host).refusals.count == 2, "no credentials and no TLS on \(host)")
    }

    @Test func anOpenAPIOffLoopbackIsRefusedSayingHowToFixIt() throws {
        let refusals = self.rule("0.0.0.0", encrypts: true).refusals
        let message = try #require(refusals.first)
        #expect(refusals.count == 1)
        #expect(message.hasPrefix("--host 0.0.0.0 is not loopback and the API has no credentials"))
        for fix in ["--api-keys-file", "--jwt-hs256-secret-file", "--jwt-public-key-file", "--allow-open-api"] {
            #expect(message.contains(fix), "names \(fix)")
        }
    }

    @Test func plaintextGRPCOffLoopbackIsRefusedSayingHowToFixIt() throws {
        let refusals = self.rule("10.0.0.5", authenticates: true).refusals
        let message = try #require(refusals.first)
        #expect(refusals.count == 1)
        #expect(message.hasPrefix("--host 10.0.0.5 is not loopback and gRPC has no TLS"))
        for fix in ["--tls-cert", "--tls-key", "--allow-plaintext"] { #expect(message.contains(fix), "names \(fix)") }
    }

    @Test func eachProblemIsWaivedOnlyByItsOwnFlagOrFixed() {
        #expect(self.rule("0.0.0.0", authenticates: true, encrypts: true).refusals.isEmpty, "keys and TLS")
        #expect(self.rule("0.0.0.0", allowOpenAPI: true, allowPlaintext: true).refusals.isEmpty, "both waived")
        #expect(self.rule("0.0.0.0", authenticates: true, allowPlaintext: true).refusals.isEmpty, "keys, plaintext waived")
        #expect(self.rule("0.0.0.0", encrypts: true, allowOpenAPI: true).refusals.isEmpty, "TLS, open waived")
        #expect(self.rule("0.0.0.0", allowOpenAPI: true).refusals.count == 1, "--allow-open-api does not waive TLS")
        #expect(self.rule("0.0.0.0", allowPlaintext: true).refusals.count == 1, "--allow-plaintext does not waive credentials")
    }

    @Test func aNodeWithoutTheAPIRoleServesNothingToProtect() {
        // Only /health, /ready and /metrics: load balancers and Prometheus must reach every node.
        #expect(self.rule("0.0.0.0", api: false).refusals.isEmpty)
    }
}

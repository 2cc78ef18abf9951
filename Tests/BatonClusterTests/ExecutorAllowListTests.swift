import BatonModel
import Testing

/// The allow-list as a pure value: parsing the flag and each decision.
@Suite struct ExecutorAllowListTests {
    private func list(_ text: String) throws -> ExecutorAllowList { try ExecutorAllowList(parsing: text) }
    private func ip(_ text: String) -> IPAddress { IPAddress(text)! }

    @Test func parsesEverySyntaxOfTheFlag() throws {
        let list = try self.list(" api.internal , api.internal:8443,10.0.0.0/8, [::1]:9000,127.0.0.1,10.1.0.0/16:443,[fd00::/8]:50051,fd01::/16,API.Example.")
        let entries = try #require(list.entries)
        #expect(entries == [
            .init(match: .host("api.internal"), port: nil),
            .init(match: .host("api.internal"), port: 8443),
            .init(match: .network(IPNetwork("10.0.0.0/8")!), port: nil),
            .init(match: .network(IPNetwork("::1/128")!), port: 9000),
            .init(match: .network(IPNetwork("127.0.0.1/32")!), port: nil),
            .init(match: .network(IPNetwork("10.1.0.0/16")!), port: 443),
            .init(match: .network(IPNetwork("fd00::/8")!), port: 50051),
            .init(match: .network(IPNetwork("fd01::/16")!), port: nil),
            .init(match: .host("api.example"), port: nil),
        ])
        #expect(try self.list("").isUnrestricted)
        #expect(try self.list(" , ").isUnrestricted)
    }

    @Test(arguments: ["10.0.0.0/33", "api.internal:0", "api.internal:70000", "[::1", "[::1]9000", "bad host", "a@b", "300.1.1.1/8", "host:port", ":80", "fe80::/129"])
    func refusesMalformedEntries(_ entry: String) {
        #expect(throws: ExecutorAllowList.ParseError.self) { try ExecutorAllowList(parsing: "ok.internal,\(entry)") }
    }

    @Test func namesPortsAndBlocks() throws {
        let list = try self.list("api.internal:8443,billing.internal,10.0.0.0/8,[::1]:9000")
        #expect(list.permits(host: "api.internal", address: self.ip("203.0.113.5"), port: 8443))
        #expect(!list.permits(host: "api.internal", address: self.ip("203.0.113.5"), port: 443), "wrong port")
        #expect(list.permits(host: "BILLING.internal.", address: self.ip("203.0.113.5"), port: 1), "names compare without case or root dot")
        #expect(list.permits(host: "other.internal", address: self.ip("10.20.30.40"), port: 80), "a name resolving into a listed block")
        #expect(!list.permits(host: "other.internal", address: self.ip("11.0.0.1"), port: 80))
        #expect(list.permits(host: "::1", address: self.ip("::1"), port: 9000))
        #expect(!list.permits(host: "::1", address: self.ip("::1"), port: 9001))
        #expect(!list.permits(host: "127.0.0.1", address: self.ip("127.0.0.1"), port: 9000), "loopback is not listed")
    }

    @Test func anUnrestrictedListAllowsAnyAddressButTheGuardedOnes() {
        let list = ExecutorAllowList.unrestricted
        #expect(list.permits(host: "127.0.0.1", address: self.ip("127.0.0.1"), port: 80))
        #expect(list.permits(host: "api.example", address: self.ip("8.8.8.8"), port: 443))
        for address in [
            "169.254.169.254", "169.254.170.2", "169.254.1.1", "fe80::1", "fd00:ec2::254", "100.100.100.200", "168.63.129.16", "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe", "64:ff9b::6464:64c8", "64:ff9b::a83f:8110",
        ] {
            #expect(!list.permits(host: "metadata.example", address: self.ip(address), port: 80), "\(address)")
            #expect(!list.mayPermit(host: address, port: 80), "\(address) written as a literal")
        }
        #expect(list.permits(host: "x", address: self.ip("100.100.100.201"), port: 80), "only the metadata address of that range")
        #expect(list.permits(host: "x", address: self.ip("64:ff9b::808:808"), port: 80), "NAT64 of an ordinary address (8.8.8.8)")
    }

    @Test func guardedAddressesNeedAnEntryInsideTheirRange() throws {
        #expect(!(try self.list("metadata.google.internal")).permits(host: "metadata.google.internal", address: self.ip("169.254.169.254"), port: 80),
                "a name entry never admits a guarded address: its DNS can change")
        #expect(!(try self.list("0.0.0.0/0,::/0")).permits(host: "x", address: self.ip("169.254.169.254"), port: 80),
                "a block that merely covers the range is not explicit")
        #expect(!(try self.list("0.0.0.0/0")).permits(host: "x", address: self.ip("::ffff:169.254.169.254"), port: 80), "mapped IPv6 is IPv4")
        #expect(try self.list("169.254.169.254").permits(host: "x", address: self.ip("169.254.169.254"), port: 80))
        #expect(try self.list("169.254.0.0/16").permits(host: "x", address: self.ip("169.254.169.254"), port: 80))
        #expect(!(try self.list("169.254.169.254:80")).permits(host: "x", address: self.ip("169.254.169.254"), port: 8080))
        #expect(try self.list("fe80::/10").permits(host: "x", address: self.ip("fe80::1"), port: 80))
        #expect(!(try self.list("fe80::/10")).permits(host: "x", address: self.ip("169.254.169.254"), port: 80))
    }

    @Test func writeTimeCheckDecidesLiteralsAndKnownNames() throws {
        let names = try self.list("payments.internal:443,127.0.0.1")
        #expect(names.mayPermit(host: "payments.internal", port: 443))
        #expect(!names.mayPermit(host: "payments.internal", port: 80))
        #expect(!names.mayPermit(host: "evil.example.com", port: 443), "no block a name could resolve into")
        #expect(names.mayPermit(host: "127.0.0.1", port: 9000))
        #expect(!names.mayPermit(host: "10.0.0.7", port: 50051))
        let blocks = try self.list("10.0.0.0/8:443")
        #expect(blocks.mayPermit(host: "svc.internal", port: 443), "may resolve into the block: the worker decides")
        #expect(!blocks.mayPermit(host: "svc.internal", port: 80))
    }

    @Test func addressesAndBlocks() {
        #expect(IPAddress("::ffff:10.1.2.3") == IPAddress("10.1.2.3"))
        #expect(IPAddress(bytes: [169, 254, 169, 254]) == IPAddress("169.254.169.254"))
        #expect(IPAddress("fd00:ec2::254")?.description == "fd00:ec2::254")
        #expect(IPAddress("10.0.0.1")?.description == "10.0.0.1")
        #expect(IPAddress("localhost") == nil && IPAddress("[::1]") == nil && IPAddress("fe80::1%eth0") == nil)
        #expect(IPNetwork("10.0.0.0/8")!.contains(IPAddress("10.255.0.1")!))
        #expect(!IPNetwork("10.0.0.0/8")!.contains(IPAddress("11.0.0.1")!))
        #expect(IPNetwork("0.0.0.0/0")!.contains(IPAddress("1.2.3.4")!))
        #expect(!IPNetwork("::/0")!.contains(IPAddress("1.2.3.4")!), "families never mix")
        #expect(IPNetwork("::ffff:10.0.0.0/104") == IPNetwork("10.0.0.0/8"))
    }

    @Test(arguments: [
        ("billing:50051", ExecutorTarget(scheme: .grpc, host: "billing", port: 50051)),
        ("grpc://billing:50051", ExecutorTarget(scheme: .grpc, host: "billing", port: 50051)),
        ("grpcs://Billing.internal:443", ExecutorTarget(scheme: .grpcs, host: "Billing.internal", port: 443)),
        ("[::1]:9000", ExecutorTarget(scheme: .grpc, host: "::1", port: 9000)),
        ("GRPCS://[fd00::1]:9000", ExecutorTarget(scheme: .grpcs, host: "fd00::1", port: 9000)),
    ])
    func grpcEndpoints(_ endpoint: String, _ target: ExecutorTarget) {
        #expect(ExecutorTarget.grpc(endpoint) == target)
    }

    @Test(arguments: ["billing", "billing:0", "http://billing:50051", "grpcs://user:pw@billing:50051", "billing:50051/x", "grpc://:50051", "grpcs://billing:50051?token=x"])
    func malformedGRPCEndpoints(_ endpoint: String) {
        #expect(ExecutorTarget.grpc(endpoint) == nil)
    }

    @Test func httpEndpoints() {
        #expect(ExecutorTarget.http("https://user:pw@API.internal/hook?token=x") == ExecutorTarget(scheme: .https, host: "API.internal", port: 443))
        #expect(ExecutorTarget.http("http://[::1]:8080/x") == ExecutorTarget(scheme: .http, host: "::1", port: 8080))
        #expect(ExecutorTarget.http("http://10.0.0.1/x")?.literalAddress == IPAddress("10.0.0.1"))
        #expect(ExecutorTarget.http("unix:///var/run/x.sock") == nil)
        #expect(ExecutorTarget.http("http+unix://%2Fvar%2Frun%2Fx.sock/x") == nil)
        #expect(ExecutorTarget.http("ftp://host/x") == nil)
    }
}

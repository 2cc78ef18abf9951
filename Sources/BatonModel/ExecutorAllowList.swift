/// Where http and grpc executors may connect (`--executor-allow-hosts`).
///
/// Entries, comma-separated: a host name (`api.internal`), an address
/// (`127.0.0.1`, `::1`), a CIDR block (`10.0.0.0/8`, `fd00::/8`), each with
/// an optional port (`api.internal:8443`, `10.0.0.0/8:443`, `[::1]:9000`,
/// `[fd00::/8]:443`). No entries: any host and port.
///
/// Workers ask at call time, with the address the name resolved to (the one
/// they then connect to). A name entry admits its name whatever it resolves
/// to; an address or CIDR entry admits any name resolving into it.
///
/// Link-local and cloud metadata addresses (`guardedNetworks`) are refused
/// even with no entries: they reach the machine's credentials. Only an
/// address or CIDR entry lying inside such a range admits them
/// (`169.254.169.254`, `169.254.0.0/16`) — not a name, whose DNS answer can
/// change, and not a wide block like `0.0.0.0/0` that merely covers them.
public struct ExecutorAllowList: Sendable, Equatable {
    public enum Match: Sendable, Equatable {
        case host(String)
        case network(IPNetwork)
    }

    public struct Entry: Sendable, Equatable {
        public var match: Match
        /// nil: any port.
        public var port: Int?

        public init(match: Match, port: Int? = nil) {
            self.match = match
            self.port = port
        }
    }

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var entry: String
        public var reason: String
        public var description: String { "\"\(self.entry)\": \(self.reason)" }
    }

    /// nil: unrestricted (the guarded ranges are still refused).
    public let entries: [Entry]?

    public static let unrestricted = ExecutorAllowList(entries: nil)

    /// Link-local and well-known metadata addresses: AWS/GCP/Azure/OpenStack
    /// (169.254.169.254) and ECS (169.254.170.2) lie in 169.254.0.0/16;
    /// AWS over IPv6 (fd00:ec2::254), Alibaba (100.100.100.200), Azure's
    /// wire server (168.63.129.16); and the IPv4 ones again behind the NAT64
    /// well-known prefix (64:ff9b::/96), which a DNS64 resolver hands out and
    /// a NAT64 gateway turns back into the IPv4 address.
    public static let guardedNetworks: [IPNetwork] = [
        "169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32", "168.63.129.16/32",
        "64:ff9b::a9fe:0/112", "64:ff9b::6464:64c8/128", "64:ff9b::a83f:8110/128",
    ].map { IPNetwork($0)! }

    public init(entries: [Entry]?) {
        self.entries = entries
    }

    /// The flag's text; empty means unrestricted.
    public init(parsing text: String) throws(ParseError) {
        let items = text.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        guard !items.isEmpty else {
            self.init(entries: nil)
            return
        }
        var entries: [Entry] = []
        for item in items { entries.append(try Self.entry(item)) }
        self.init(entries: entries)
    }

    public var isUnrestricted: Bool { self.entries == nil }

    /// May a call go to `host` (as the endpoint names it) at `address` (what
    /// it resolved to, or the literal) on `port`?
    public func permits(host: String, address: IPAddress, port: Int) -> Bool {
        let guarded = Self.guardedNetworks.filter { $0.contains(address) }
        if !guarded.isEmpty {
            return (self.entries ?? []).contains { entry in
                guard entry.port == nil || entry.port == port, case .network(let network) = entry.match else { return false }
                return network.contains(address) && guarded.contains { $0.contains(network) }
            }
        }
        guard self.entries != nil else { return true }
        return self.anyEntry(port: port, admitsName: Self.normalized(host)) { $0.contains(address) }
    }

    /// What a config write can check before anything is resolved, for early
    /// feedback (the worker's call-time check is the one that counts): a
    /// literal is decided now; a name passes when a name entry admits it or
    /// a block of several addresses might hold its address. A list of names
    /// and single addresses thus refuses an unlisted name at once, though a
    /// worker would admit it if it resolved to a listed address.
    public func mayPermit(host: String, port: Int) -> Bool {
        if let address = IPAddress(host) { return self.permits(host: host, address: address, port: port) }
        guard self.entries != nil else { return true }
        return self.anyEntry(port: port, admitsName: Self.normalized(host)) { $0.prefixLength < $0.address.bitWidth }
    }

    /// Whether an entry for `port` names `name`, or is a block `admits` accepts.
    private func anyEntry(port: Int, admitsName name: String, _ admits: (IPNetwork) -> Bool) -> Bool {
        (self.entries ?? []).contains { entry in
            guard entry.port == nil || entry.port == port else { return false }
            switch entry.match {
            case .host(let allowed): return allowed == name
            case .network(let network): return admits(network)
            }
        }
    }

    /// Lowercased, without the root's trailing dot.
    static func normalized(_ host: String) -> String {
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }

    private static func entry(_ item: Substring) throws(ParseError) -> Entry {
        let fail = { (reason: String) in ParseError(entry: String(item), reason: reason) }
        var target = item
        var portText: Substring?
        if item.hasPrefix("[") {
            guard let close = item.firstIndex(of: "]") else { throw fail("unclosed [") }
            target = item[item.index(after: item.startIndex)..<close]
            let after = item[item.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("expected :port after ]") }
                portText = after.dropFirst()
            }
        } else if item.filter({ $0 == ":" }).count == 1, let colon = item.firstIndex(of: ":") {
            // One colon: host:port. More: an IPv6 address or block, without a port.
            target = item[..<colon]
            portText = item[item.index(after: colon)...]
        }
        var port: Int?
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else { throw fail("port must be 1-65535") }
            port = value
        }
        if target.contains("/") || IPAddress(target) != nil {
            guard let network = IPNetwork(target) else { throw fail("not an address or CIDR block") }
            return Entry(match: .network(network), port: port)
        }
        let name = Self.normalized(String(target))
        let valid = !name.isEmpty && name.utf8.count <= 253
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") }
        guard valid else { throw fail("not a host name, address or CIDR block") }
        return Entry(match: .host(name), port: port)
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        guard let first = self.firstIndex(where: { !$0.isWhitespace }), let last = self.lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return self[first...last]
    }
}

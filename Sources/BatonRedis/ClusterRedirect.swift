import BatonPool

/// A Redis Cluster redirection: `MOVED <slot> <host>:<port>` (the slot lives
/// on that node now: go there for good) or `ASK <slot> <host>:<port>` (the
/// slot is being migrated: send this one command there, after ASKING). The
/// command that got it did not run.
struct ClusterRedirect: Sendable, Hashable {
    enum Kind: Sendable { case moved, ask }

    var kind: Kind
    var endpoint: ConnectionURL.Endpoint

    /// Nil unless `reply` is a MOVED or ASK error.
    init?(_ reply: RESPValue, from server: String) {
        guard case .error(let message) = reply else { return nil }
        let kind: Kind
        if message.hasPrefix("MOVED ") { kind = .moved } else if message.hasPrefix("ASK ") { kind = .ask } else { return nil }
        let parts = message.split(separator: " ")
        // The address is host:port; an IPv6 host holds colons, the port follows the last.
        guard parts.count >= 3, let colon = parts[2].lastIndex(of: ":"), let port = Int(parts[2][parts[2].index(after: colon)...]) else { return nil }
        var host = String(parts[2][..<colon])
        // A node that does not know its own address names no host: the server that answered.
        if host.isEmpty { host = server }
        self.kind = kind
        self.endpoint = ConnectionURL.Endpoint(host: host, port: port)
    }
}

/// The parts of a `scheme://[user[:password]@]host[:port][/path][?query]` URL,
/// with percent-escapes in the credentials and path decoded. The authority
/// may list several `host[:port]` separated by commas (Sentinel URLs name
/// every Sentinel); `host` and `port` are the first of them.
///
/// Shared by the Redis and MySQL configurations; secrets parsed here are never
/// part of `description`.
public struct ConnectionURL: Sendable, CustomStringConvertible {
    public var scheme: String
    public var user: String?
    public var password: String?
    public var host: String
    public var port: Int?
    /// Every `host[:port]` of the authority, in order; one for most URLs.
    public var endpoints: [Endpoint]
    public var path: String
    public var query: [String: String]

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int?

        public init(host: String, port: Int?) {
            self.host = host
            self.port = port
        }

        public var description: String { "\(self.host)\(self.port.map { ":\($0)" } ?? "")" }
    }

    public init(_ text: String) throws(ParseError) {
        guard let schemeEnd = text.firstRange(of: "://") else {
            throw ParseError(description: "missing scheme:// in connection URL")
        }
        self.scheme = String(text[..<schemeEnd.lowerBound]).lowercased()
        var rest = Substring(text[schemeEnd.upperBound...])

        self.query = [:]
        if let mark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard !parts[0].isEmpty else { throw ParseError(description: "a query parameter of the connection URL has no name") }
                self.query[Self.decode(parts[0])] = parts.count > 1 ? Self.decode(parts[1]) : ""
            }
            rest = rest[..<mark]
        }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                self.user = user.isEmpty ? nil : Self.decode(user)
                self.password = Self.decode(credentials[credentials.index(after: colon)...])
            } else {
                self.user = credentials.isEmpty ? nil : Self.decode(credentials)
            }
        }
        self.path = ""
        if let slash = rest.firstIndex(of: "/") {
            self.path = Self.decode(rest[rest.index(after: slash)...])
            rest = rest[..<slash]
        }
        self.endpoints = try rest.split(separator: ",", omittingEmptySubsequences: false).map(Self.endpoint)
        self.host = self.endpoints[0].host
        self.port = self.endpoints[0].port
    }

    /// The URL without its password (nor its query, where secrets may ride too).
    public var description: String {
        let credentials = self.user.map { "\($0)@" } ?? (self.password == nil ? "" : ":***@")
        return "\(self.scheme)://\(credentials)\(self.endpoints.map(\.description).joined(separator: ","))/\(self.path)"
    }

    /// `host[:port]`, `[v6]:port` or `[v6]`.
    private static func endpoint(_ text: Substring) throws(ParseError) -> Endpoint {
        var rest = text
        var port: Int?
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else {
                throw ParseError(description: "port must be a number 1-65535")
            }
            port = number
            rest = rest[..<colon]
        }
        if rest.hasPrefix("["), rest.hasSuffix("]") { rest = rest.dropFirst().dropLast() }
        guard !rest.isEmpty else { throw ParseError(description: "missing host in connection URL") }
        return Endpoint(host: String(rest), port: port)
    }

    private static func decode(_ text: Substring) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

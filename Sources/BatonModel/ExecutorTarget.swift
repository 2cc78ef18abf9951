import Foundation

/// Where an http or grpc executor endpoint connects: scheme, host, port.
/// An http endpoint's host is taken exactly as AsyncHTTPClient takes it
/// (Foundation's `URL.host`, IPv6 brackets trimmed): the worker checks and
/// pins the address of the very name the client would otherwise look up.
public struct ExecutorTarget: Hashable, Sendable {
    public enum Scheme: String, Sendable {
        case http, https, grpc, grpcs
    }

    public var scheme: Scheme
    /// As written (case kept), without brackets.
    public var host: String
    public var port: Int

    public init(scheme: Scheme, host: String, port: Int) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    public var usesTLS: Bool { self.scheme == .https || self.scheme == .grpcs }

    /// The host when it is an address literal rather than a name.
    public var literalAddress: IPAddress? { IPAddress(self.host) }

    /// An absolute `http://` or `https://` URL, or nil.
    public static func http(_ endpoint: String) -> ExecutorTarget? {
        guard let url = URL(string: endpoint), let schemeText = url.scheme?.lowercased(),
            let scheme = Scheme(rawValue: schemeText), scheme == .http || scheme == .https,
            let rawHost = url.host, !rawHost.isEmpty
        else { return nil }
        var host = Substring(rawHost)
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty, (0...65535).contains(url.port ?? 0) else { return nil }
        return ExecutorTarget(scheme: scheme, host: String(host), port: url.port ?? (scheme == .https ? 443 : 80))
    }

    /// `host:port` or `grpc://host:port` (plaintext), `grpcs://host:port`
    /// (TLS); IPv6 in brackets (`[::1]:50051`). Nothing else: no userinfo,
    /// path or query.
    public static func grpc(_ endpoint: String) -> ExecutorTarget? {
        var rest = Substring(endpoint)
        var scheme = Scheme.grpc
        if let separator = rest.range(of: "://") {
            guard let named = Scheme(rawValue: rest[..<separator.lowerBound].lowercased()), named == .grpc || named == .grpcs else { return nil }
            scheme = named
            rest = rest[separator.upperBound...]
        }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        var host = rest[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":") }) else {
            return nil
        }
        return ExecutorTarget(scheme: scheme, host: String(host), port: port)
    }

    /// Parses an endpoint of the given executor kind.
    public static func of(_ endpoint: String, executor: TaskConfigRecord.Executor) -> ExecutorTarget? {
        switch executor {
        case .http: self.http(endpoint)
        case .grpc: self.grpc(endpoint)
        case .local: nil
        }
    }
}

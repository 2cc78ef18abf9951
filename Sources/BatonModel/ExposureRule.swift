/// Whether a node may serve its API where it listens (`--host`). On loopback
/// only this machine reaches the ports, as on a laptop: anything goes. Off
/// loopback, an API without credentials lets anyone who reaches the ports
/// submit, read and cancel tasks (and have workers call endpoints for them),
/// and plaintext gRPC shows keys, tokens and payloads to the network; a node
/// does either only when told so by name (`--allow-open-api`,
/// `--allow-plaintext`), never by omission.
public struct ExposureRule: Sendable, Equatable {
    /// The address the gRPC and HTTP servers bind.
    public var host: String
    /// The api role: without it the node serves /health, /ready and /metrics only.
    public var servesAPI: Bool
    /// An API keys file or a JWT key is configured.
    public var authenticates: Bool
    /// gRPC has TLS (`--tls-cert` and `--tls-key`).
    public var encrypts: Bool
    public var allowOpenAPI: Bool
    public var allowPlaintext: Bool

    public init(host: String, servesAPI: Bool, authenticates: Bool, encrypts: Bool, allowOpenAPI: Bool, allowPlaintext: Bool) {
        self.host = host
        self.servesAPI = servesAPI
        self.authenticates = authenticates
        self.encrypts = encrypts
        self.allowOpenAPI = allowOpenAPI
        self.allowPlaintext = allowPlaintext
    }

    /// Why the node must not start, one sentence per problem; empty when it may.
    public var refusals: [String] {
        guard self.servesAPI, !Self.isLoopback(self.host) else { return [] }
        var refusals: [String] = []
        if !self.authenticates, !self.allowOpenAPI {
            refusals.append(
                "--host \(self.host) is not loopback and the API has no credentials, so anyone who reaches it could submit, read and cancel tasks: "
                    + "configure --api-keys-file or --jwt-hs256-secret-file / --jwt-public-key-file, or pass --allow-open-api to serve it open on purpose"
            )
        }
        if !self.encrypts, !self.allowPlaintext {
            refusals.append(
                "--host \(self.host) is not loopback and gRPC has no TLS, so keys, tokens and payloads would cross the network in clear: "
                    + "configure --tls-cert and --tls-key, or pass --allow-plaintext (behind a TLS-terminating proxy or on a private network)"
            )
        }
        return refusals
    }

    /// `localhost`, 127.0.0.0/8 and ::1 (also as `::ffff:127.x.y.z`). Any
    /// other name counts as off loopback: it may resolve anywhere, and to
    /// somewhere else tomorrow; only literals and `localhost` are sure.
    public static func isLoopback(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        if name == "localhost" { return true }
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        guard let address = IPAddress(name) else { return false }
        return Self.loopback.contains { $0.contains(address) }
    }

    private static let loopback = [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!]
}

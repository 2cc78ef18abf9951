/// TLS for `rediss://` and `sentinels://`: which CA vouches for the server
/// (the system's roots when none is named), the client certificate a server
/// with `tls-auth-clients yes` asks for, and the name the server's
/// certificate must carry when it is not the host connected to (a Sentinel
/// hands out IP addresses; the certificate may only name the host).
///
/// The server's certificate is always verified, its name or IP address
/// included. Files are read on every new connection, so certificates
/// renewed on disk are picked up as connections are replaced.
public struct RedisTLS: Sendable, Hashable {
    /// The query parameters of a TLS URL that configure it.
    static let queryKeys: [String] = ["ca", "cert", "key", "server_name"]

    /// PEM file of the CA certificates to trust; nil trusts the system's roots.
    public var caFile: String?
    /// PEM client certificate (chain), with `keyFile`.
    public var certificateFile: String?
    /// PEM private key of `certificateFile`.
    public var keyFile: String?
    /// The DNS name (or IP address) to verify and send as SNI instead of the host.
    public var serverName: String?

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
    }

    /// `?ca=/path&cert=/path&key=/path&server_name=name`, every one optional.
    init(query: [String: String]) throws(RedisError) {
        for key in Self.queryKeys where query[key]?.isEmpty == true {
            throw RedisError(.invalidURL, "\(key)= is empty in the Redis URL")
        }
        self.init(caFile: query["ca"], certificateFile: query["cert"], keyFile: query["key"], serverName: query["server_name"])
        guard (self.certificateFile == nil) == (self.keyFile == nil) else {
            throw RedisError(.invalidURL, "cert= and key= go together (a client certificate and its private key)")
        }
    }

    /// Refuses TLS parameters on a URL whose scheme does not turn TLS on, so
    /// that `redis://…?ca=…` fails loudly instead of connecting in clear.
    static func refuseWithout(_ secureScheme: String, in query: [String: String]) throws(RedisError) {
        if let key = Self.queryKeys.first(where: { query[$0] != nil }) {
            throw RedisError(.invalidURL, "\(key)= configures TLS, which only \(secureScheme):// turns on")
        }
    }

    /// The query parameters that say this again (paths and names, no secrets).
    var queryItems: [String] {
        [("ca", self.caFile), ("cert", self.certificateFile), ("key", self.keyFile), ("server_name", self.serverName)]
            .compactMap { key, value in value.map { "\(key)=\($0)" } }
    }
}

import Foundation

/// The Redis master, its replica and three Sentinels of
/// `scripts/redis-sentinel.sh` (private loopback ports: Redis 6381-6382,
/// Sentinels 26381-26383, quorum 2, down after 1 s), with passwords on both
/// the data servers and the Sentinels so that both are exercised. One test
/// at a time may use them: they are fixed ports.
///
/// With `tls` (certificates with `ca` and a `server` for 127.0.0.1), every
/// server speaks TLS only, on other ports (Redis 6388-6389, Sentinels
/// 26388-26390), and the URL is `sentinels://…?ca=…`.
public struct SentinelServers: Sendable {
    public static let masterName = "baton-test"
    public static let redisPassword = "sentinel-test-data-pw"
    public static let sentinelPassword = "sentinel-test-sentinel-pw"

    public let tls: TestCertificates?
    public let redisPorts: [Int]
    private let sentinelPorts: [Int]

    public init(tls: TestCertificates? = nil) {
        self.tls = tls
        self.redisPorts = tls == nil ? [6381, 6382] : [6388, 6389]
        self.sentinelPorts = tls == nil ? [26381, 26382, 26383] : [26388, 26389, 26390]
    }

    /// What `--redis` takes to reach them.
    public var url: String {
        let hosts = self.sentinelPorts.map { "127.0.0.1:\($0)" }.joined(separator: ",")
        let scheme = self.tls == nil ? "sentinel" : "sentinels"
        return "\(scheme)://:\(Self.redisPassword)@\(hosts)/\(Self.masterName)?sentinel_password=\(Self.sentinelPassword)\(self.caQuery)"
    }

    /// A direct URL to one data server (for a test that looks behind Sentinel's back).
    public func directURL(port: Int) -> String {
        "\(self.tls == nil ? "redis" : "rediss")://:\(Self.redisPassword)@127.0.0.1:\(port)\(self.tls == nil ? "" : "?" + self.caQuery.dropFirst())"
    }

    private var caQuery: String { self.tls.map { "&ca=\($0.path("ca.pem"))" } ?? "" }

    /// Whether the Sentinel binary is there (the script installs it when it can).
    public static var isInstalled: Bool {
        ["/usr/bin/redis-sentinel", "/usr/local/bin/redis-sentinel"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The script failed and no redis-sentinel is installed (apt-get could not
    /// install it): the tests skip, saying so.
    public struct NotInstalled: Error, CustomStringConvertible {
        public var description: String
    }

    /// Fresh servers from empty data; returns once every Sentinel knows the
    /// replica and its peers (a failover can happen).
    public func start() throws {
        do {
            _ = try self.script("start")
        } catch where !Self.isInstalled {
            throw NotInstalled(description: "redis-sentinel is not installed and apt-get could not install it: \(error)")
        }
    }
    public func stop() throws { _ = try self.script("stop") }

    /// The port of the master the Sentinels name now.
    public func masterPort() throws -> Int? { Int(try self.script("master")) }

    /// kill -9 of the current master; returns its port.
    @discardableResult
    public func killMaster() throws -> Int? { Int(try self.script("kill-master")) }

    private var environment: [String: String] {
        var environment = [
            "BATON_SENTINEL_MASTER": Self.masterName,
            "BATON_SENTINEL_REDIS_PASSWORD": Self.redisPassword,
            "BATON_SENTINEL_PASSWORD": Self.sentinelPassword,
            "BATON_SENTINEL_REDIS_PORTS": self.redisPorts.map(String.init).joined(separator: " "),
            "BATON_SENTINEL_PORTS": self.sentinelPorts.map(String.init).joined(separator: " "),
        ]
        if let tls = self.tls {
            environment["BATON_SENTINEL_TLS_DIR"] = tls.folder
            environment["BATON_RUN_DIR"] = TestEnvironment.repositoryRoot.appendingPathComponent(".run/tls").path
        }
        return environment
    }

    /// Runs the script; its standard output (the last line), trimmed.
    private func script(_ action: String) throws -> String {
        try TestEnvironment.scriptOutput("redis-sentinel.sh", [action], environment: self.environment)
    }
}

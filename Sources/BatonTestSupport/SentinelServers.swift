import Foundation

/// The Redis master, its replica and three Sentinels of
/// `scripts/redis-sentinel.sh` (private loopback ports: Redis 6381-6382,
/// Sentinels 26381-26383, quorum 2, down after 1 s), with passwords on both
/// the data servers and the Sentinels so that both are exercised. One test
/// at a time may use them: they are fixed ports.
public struct SentinelServers: Sendable {
    public static let masterName = "baton-test"
    public static let redisPassword = "sentinel-test-data-pw"
    public static let sentinelPassword = "sentinel-test-sentinel-pw"

    public init() {}

    /// What `--redis` takes to reach them.
    public var url: String {
        "sentinel://:\(Self.redisPassword)@127.0.0.1:26381,127.0.0.1:26382,127.0.0.1:26383/\(Self.masterName)?sentinel_password=\(Self.sentinelPassword)"
    }

    /// A direct URL to one data server (for a test that looks behind Sentinel's back).
    public func directURL(port: Int) -> String { "redis://:\(Self.redisPassword)@127.0.0.1:\(port)" }

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
        [
            "BATON_SENTINEL_MASTER": Self.masterName,
            "BATON_SENTINEL_REDIS_PASSWORD": Self.redisPassword,
            "BATON_SENTINEL_PASSWORD": Self.sentinelPassword,
        ]
    }

    /// Runs the script; its standard output (the last line), trimmed.
    private func script(_ action: String) throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("sentinel-\(action)")).path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let status = try ChildProcess.run(
            "/bin/bash", ["-c", "\"$0\" \"$1\" 2>&1 >\"$2\"", TestEnvironment.repositoryRoot.appendingPathComponent("scripts/redis-sentinel.sh").path, action, output],
            environment: ProcessInfo.processInfo.environment.merging(self.environment) { $1 }
        )
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw TestEnvironment.ScriptError(description: "redis-sentinel.sh \(action) exited \(status)")
        }
        return text.split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }
}

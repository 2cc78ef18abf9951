import Foundation

/// A redis-server of a test's own that speaks TLS on `tlsPort` and plain
/// RESP on `plainPort` (one server, so plain and TLS figures compare like
/// for like), with certificates made by openssl for the test:
/// `ca` signs `server` (IP 127.0.0.1 and DNS localhost) and `client`;
/// `other-ca` signs nothing the server shows. Fixed ports: one test at a time.
public struct TLSRedisServer: Sendable {
    public let plainPort: Int
    public let tlsPort: Int
    public let certificates: TestCertificates

    public init(plainPort: Int = 6393, tlsPort: Int = 6394) throws {
        self.plainPort = plainPort
        self.tlsPort = tlsPort
        self.certificates = try TestCertificates(
            prefix: "redis-tls",
            authorities: ["ca", "other-ca"],
            leaves: [
                (name: "server", authority: "ca", extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost"),
                (name: "client", authority: "ca", extensions: "extendedKeyUsage=clientAuth"),
            ]
        )
    }

    /// `rediss://127.0.0.1:<tlsPort>/<database>?ca=…` plus `query` (e.g. `&cert=…`).
    public func url(database: Int = 0, query: String = "") -> String {
        "rediss://127.0.0.1:\(self.tlsPort)/\(database)?ca=\(self.certificates.path("ca.pem"))\(query)"
    }

    /// `&cert=…&key=…` of the client certificate `ca` signed.
    public var clientCertificateQuery: String {
        "&cert=\(self.certificates.path("client.pem"))&key=\(self.certificates.path("client.key"))"
    }

    /// Starts from empty data; returns once the plain port answers.
    public func start() throws {
        let folder = self.certificates.folder
        try self.shutdown()
        let status = try ChildProcess.run(
            "/usr/bin/redis-server",
            [
                "--bind", "127.0.0.1", "--port", String(self.plainPort), "--tls-port", String(self.tlsPort),
                "--tls-cert-file", "\(folder)/server.pem", "--tls-key-file", "\(folder)/server.key", "--tls-ca-cert-file", "\(folder)/ca.pem",
                "--tls-auth-clients", "no", "--dir", folder, "--daemonize", "yes", "--pidfile", "\(folder)/redis.pid",
                "--logfile", "\(folder)/redis.log", "--save", "", "--appendonly", "no",
            ],
            environment: ProcessInfo.processInfo.environment
        )
        guard status == 0 else { throw TestEnvironment.ScriptError(description: "redis-server with TLS exited \(status)") }
        for _ in 0..<100 where try self.cli(["ping"], mayFail: true) != 0 { usleep(20_000) }
        try self.cli(["ping"])
    }

    /// `CONFIG SET tls-auth-clients yes|no`: whether new TLS connections must show a client certificate.
    public func requireClientCertificates(_ required: Bool) throws {
        try self.cli(["config", "set", "tls-auth-clients", required ? "yes" : "no"])
    }

    /// Stops the server (by its own command) and removes the certificates.
    public func stop() throws {
        try self.shutdown()
        self.certificates.remove()
    }

    /// Stops the server on the port, if any: by its pidfile (SIGTERM, which a
    /// server started with ChildProcess heeds, whatever password a test set),
    /// else by SHUTDOWN NOSAVE; returns once the port is closed.
    private func shutdown() throws {
        guard try self.cli(["ping"], mayFail: true) == 0 else { return }
        if let text = try? String(contentsOfFile: self.certificates.path("redis.pid"), encoding: .utf8), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            kill(pid, SIGTERM)
        } else {
            try self.cli(["shutdown", "nosave"], mayFail: true)
        }
        for _ in 0..<150 where try self.cli(["ping"], mayFail: true) == 0 { usleep(20_000) }
    }

    /// redis-cli on the plain port.
    @discardableResult
    public func cli(_ arguments: [String], mayFail: Bool = false) throws -> Int32 {
        let status = try ChildProcess.run(
            "/usr/bin/redis-cli", ["-h", "127.0.0.1", "-p", String(self.plainPort)] + arguments, environment: ProcessInfo.processInfo.environment,
            output: "/dev/null"
        )
        guard status == 0 || mayFail else { throw TestEnvironment.ScriptError(description: "redis-cli \(arguments.joined(separator: " ")) exited \(status)") }
        return status
    }
}

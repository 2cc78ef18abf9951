import BatonTestSupport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One `baton-node` of the debug build on ports the kernel picked, with its
/// own id, Redis namespace and log folder (never the cluster's fixed ports,
/// which other test runs on this machine use), started through
/// `/bin/sh -c 'ulimit -n …; exec baton-node …'` when given an fd limit.
final class WireNode {
    let id: String
    let namespace: String
    let grpcPort: Int
    let httpPort: Int
    let pid: pid_t
    let logs: URL

    /// `id` and `namespace` shared by several nodes make them one cluster
    /// (or, with one id, two claims on it); `environment` adds variables;
    /// `redisURL` replaces the test Redis (a `sentinel://` one, say).
    init(
        id: String? = nil, namespace: String? = nil, fileLimit: Int? = nil, redisURL: String = TestEnvironment.redisURL, arguments extra: [String] = [],
        environment: [String: String] = [:]
    ) throws {
        let root = TestEnvironment.repositoryRoot
        self.id = id ?? TestEnvironment.uniqueName("wire")
        self.namespace = namespace ?? TestEnvironment.uniqueName("wiretest")
        self.grpcPort = try Self.freePort()
        self.httpPort = try Self.freePort()
        self.logs = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("wire-logs"))
        try FileManager.default.createDirectory(at: self.logs, withIntermediateDirectories: true)
        let node = root.appendingPathComponent(".build/debug/baton-node").path
        let arguments = [
            "--id", self.id, "--grpc-port", String(self.grpcPort), "--worker-port", String(self.httpPort),
            "--redis-namespace", self.namespace, "--migrations", root.appendingPathComponent("sql").path, "--log-dir", self.logs.path,
            "--mysql", TestEnvironment.mysqlURL, "--redis", redisURL,
        ] + extra
        let command = (fileLimit.map { "ulimit -n \($0); " } ?? "") + "exec " + ([node] + arguments).map(Self.quoted).joined(separator: " ")
        self.pid = try ChildProcess.start(
            "/bin/sh", ["-c", command], environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }, output: self.logs.appendingPathComponent("stdout.log").path)
    }

    /// Waits until /ready answers 200.
    func waitReady(timeout: Duration = .seconds(30)) async throws {
        let ready = try await TestEnvironment.waitUntil(timeout: timeout, every: .milliseconds(100)) {
            guard self.isRunning else { return false }
            return (try? Self.httpGet(port: self.httpPort, path: "/ready"))?.hasPrefix("HTTP/1.1 200") == true
        }
        guard ready else { throw TestEnvironment.ScriptError(description: "node \(self.id) not ready; log:\n\(self.log.suffix(3000))") }
    }

    var isRunning: Bool {
        var status: Int32 = 0
        return waitpid(self.pid, &status, WNOHANG) == 0
    }

    /// The exit code once the node exits by itself within `timeout`, else nil
    /// (it still runs). Reaps it: `isRunning` is false afterwards.
    func exitCode(within timeout: Duration) async throws -> Int32? {
        var code: Int32?
        _ = try await TestEnvironment.waitUntil(timeout: timeout, every: .milliseconds(100)) {
            var status: Int32 = 0
            guard waitpid(self.pid, &status, WNOHANG) == self.pid else { return false }
            code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            return true
        }
        return code
    }

    /// kill -9 and reap: no graceful stop, no release of anything.
    func crash() {
        kill(self.pid, SIGKILL)
        var status: Int32 = 0
        waitpid(self.pid, &status, 0)
    }

    /// Descriptors the node holds now.
    var openFiles: Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(self.pid)/fd").count) ?? -1
    }

    var log: String {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: self.logs.path)) ?? []
        return files.sorted().compactMap { try? String(contentsOf: self.logs.appendingPathComponent($0), encoding: .utf8) }.joined(separator: "\n")
    }

    /// A line of the node's /metrics, e.g. `baton_health_probes_total`, as a number.
    func metric(_ name: String) throws -> Double? {
        let text = try Self.httpGet(port: self.httpPort, path: "/metrics")
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") || line.hasPrefix(name + "{") {
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }

    /// SIGTERM, then SIGKILL if it lingers; removes its logs and Redis keys' namespace is left to expire with the test database.
    /// Returns the exit code if the node exited on its own within 10 s (nil if it had to be killed), and its log.
    @discardableResult
    func stop() -> (exitCode: Int32?, log: String) {
        kill(self.pid, SIGTERM)
        var status: Int32 = 0
        var exited = false
        for _ in 0..<200 {
            let reaped = waitpid(self.pid, &status, WNOHANG)
            if reaped != 0 {
                exited = reaped == self.pid
                break
            }
            usleep(50_000)
        }
        if !exited, waitpid(self.pid, &status, WNOHANG) == 0 {
            kill(self.pid, SIGKILL)
            waitpid(self.pid, &status, 0)
        }
        let log = self.log
        try? FileManager.default.removeItem(at: self.logs)
        return (exited && status & 0x7f == 0 ? (status >> 8) & 0xff : nil, log)
    }

    /// A port free now, then released: below the kernel's ephemeral range
    /// (32768 and up here), so no outgoing connection of this machine (to
    /// Redis, MariaDB, another node) is given it before the node binds it.
    /// A port picked by binding to 0 came from that range, and was lost so
    /// now and then ("Address already in use").
    static func freePort() throws -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 20_000..<32_000)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { break }
            defer { close(descriptor) }
            var address = Self.loopback(port: port)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            if bound { return port }
        }
        throw TestEnvironment.ScriptError(description: "cannot bind loopback")
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }

    /// A connected blocking TCP socket to loopback `port`, or -1.
    static func connectSocket(port: Int) -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return -1 }
        var address = Self.loopback(port: port)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            close(descriptor)
            return -1
        }
        return descriptor
    }

    /// True once the peer closed `descriptor` (EOF or reset); never blocks.
    static func peerClosed(_ descriptor: Int32) -> Bool {
        var byte: UInt8 = 0
        let read = recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK))
        if read == 0 { return true }
        if read < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        // Data (a server's GOAWAY or SETTINGS) is not a close: drain it and look again.
        var buffer = [UInt8](repeating: 0, count: 4096)
        while recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT)) > 0 {}
        let again = recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK))
        return again == 0 || (again < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// One HTTP/1.0 GET (with a bearer credential if given): the whole response as text.
    static func httpGet(port: Int, path: String, bearer: String? = nil) throws -> String {
        let descriptor = Self.connectSocket(port: port)
        guard descriptor >= 0 else { throw TestEnvironment.ScriptError(description: "cannot connect to \(port)") }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let authorization = bearer.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        let request = Array("GET \(path) HTTP/1.0\r\nHost: localhost\r\n\(authorization)\r\n".utf8)
        _ = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }

    private static func quoted(_ argument: String) -> String {
        "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

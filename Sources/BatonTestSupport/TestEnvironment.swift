import Foundation

/// Where the test servers are, and helpers to drive them. Tests talk to the
/// real redis-server and mariadbd that `make test` starts.
public enum TestEnvironment {
    /// Redis for tests: database 9 keeps test keys apart from a dev cluster's.
    public static var redisURL: String {
        ProcessInfo.processInfo.environment["BATON_TEST_REDIS"] ?? "redis://127.0.0.1:6379/9"
    }

    public static var mysqlURL: String {
        ProcessInfo.processInfo.environment["BATON_TEST_MYSQL"]
            ?? "mysql://baton:\(mysqlPassword)@127.0.0.1:3306/baton_test"
    }

    public static var mysqlPassword: String {
        ProcessInfo.processInfo.environment["BATON_MYSQL_PASSWORD"] ?? "baton-dev-password"
    }

    /// The repository's top folder.
    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    public static var migrationsDirectory: URL { repositoryRoot.appendingPathComponent("sql") }

    /// Runs `scripts/dev-services.sh` with extra environment, e.g. to start or
    /// stop a private server on another port. Throws when it exits non-zero.
    public static func devServices(_ arguments: [String], environment: [String: String]) throws {
        let script = repositoryRoot.appendingPathComponent("scripts/dev-services.sh").path
        let status = try ChildProcess.run(
            "/bin/bash",
            [script] + arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }
        )
        guard status == 0 else {
            throw ScriptError(description: "dev-services.sh \(arguments.joined(separator: " ")) exited \(status)")
        }
    }

    /// Runs `scripts/<name> <arguments>` with extra environment; returns the
    /// last line of its standard output, trimmed (its standard error goes to
    /// the test's output). Throws when it exits non-zero.
    public static func scriptOutput(_ name: String, _ arguments: [String], environment: [String: String]) throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("script-output")).path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let status = try ChildProcess.run(
            "/bin/bash", ["-c", "\"$0\" \"$@\" 2>&1 >\"$OUTPUT\"", repositoryRoot.appendingPathComponent("scripts/\(name)").path] + arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }.merging(["OUTPUT": output]) { $1 }
        )
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw ScriptError(description: "\(name) \(arguments.joined(separator: " ")) exited \(status)")
        }
        return text.split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }

    public struct ScriptError: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }

    /// Polls `condition` until it holds or `timeout` passes.
    public static func waitUntil(
        timeout: Duration = .seconds(10),
        every interval: Duration = .milliseconds(20),
        _ condition: () async throws -> Bool
    ) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: interval)
        }
        return try await condition()
    }

    /// A short unique prefix for keys and rows a test creates.
    public static func uniqueName(_ base: String) -> String {
        "\(base)-\(UUID().uuidString.prefix(8).lowercased())"
    }
}

/// A Redis or MariaDB of a test's own (dev-services on its own port and run
/// folder), for tests that stop, freeze or fill it without touching the
/// shared servers.
public struct PrivateServer: Sendable {
    public enum Kind: String, Sendable {
        case redis
        case mysql
    }

    public let kind: Kind
    public let port: Int
    private let name: String

    public init(_ kind: Kind, port: Int, name: String) {
        self.kind = kind
        self.port = port
        self.name = name
    }

    /// What dev-services needs: this port and folder, and no server from the environment.
    public var environment: [String: String] {
        [
            self.kind == .redis ? "BATON_REDIS_PORT" : "BATON_MYSQL_PORT": String(self.port),
            "BATON_RUN_DIR": TestEnvironment.repositoryRoot.appendingPathComponent(".run/\(self.name)").path,
            self.kind == .redis ? "REDIS_ADDR" : "MYSQL_DSN": "",
        ]
    }

    public func start() throws { try TestEnvironment.devServices(["start", self.kind.rawValue], environment: self.environment) }
    public func stop() throws { try TestEnvironment.devServices(["stop", self.kind.rawValue], environment: self.environment) }
}

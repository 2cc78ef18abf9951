import Foundation
import Logging

/// Applies numbered migrations (`NNN_name.sql`) in order, each once.
///
/// Several nodes may start at once: a named lock (`GET_LOCK`) lets one apply
/// while the others wait, then find nothing left to do. Each file's
/// statements are separated by a `;` at the end of a line.
public struct MySQLMigrator: Sendable {
    public struct Migration: Sendable, Equatable {
        public var version: Int
        public var name: String
        public var statements: [String]

        public init(version: Int, name: String, statements: [String]) {
            self.version = version
            self.name = name
            self.statements = statements
        }
    }

    public let migrations: [Migration]
    private let logger: Logger

    public init(migrations: [Migration], logger: Logger) {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.logger = logger
    }

    /// Reads `NNN_name.sql` files from a folder.
    public init(directory: URL, logger: Logger) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }
        let files = try names.map { (name: $0, text: try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8)) }
        self.init(files: files, logger: logger)
    }

    /// `NNN_name.sql` files given as text (those built into the binary);
    /// other names are ignored.
    public init(files: [(name: String, text: String)], logger: Logger) {
        let migrations = files.compactMap { file -> Migration? in
            guard file.name.hasSuffix(".sql"), let underscore = file.name.firstIndex(of: "_"), let version = Int(file.name[..<underscore]) else {
                return nil
            }
            return Migration(version: version, name: String(file.name.dropLast(4)), statements: Self.split(file.text))
        }
        self.init(migrations: migrations, logger: logger)
    }

    /// Applies what is missing; returns the versions applied by this call.
    @discardableResult
    public func migrate(_ client: MySQLClient, lockTimeout: Int = 60) async throws -> [Int] {
        try await client.withSession { session in
            let locked = try await session.executeOnce("SELECT GET_LOCK('baton_migrations', ?) AS locked", [.int(Int64(lockTimeout))])
            guard locked.rows.first?.int("locked") == 1 else {
                throw MySQLError(.transient, "another node holds the migration lock")
            }
            do {
                let applied = try await self.applyMissing(session)
                _ = try await session.executeOnce("SELECT RELEASE_LOCK('baton_migrations')")
                return applied
            } catch {
                _ = try? await session.executeOnce("SELECT RELEASE_LOCK('baton_migrations')")
                throw error
            }
        }
    }

    private func applyMissing(_ session: MySQLSession) async throws -> [Int] {
        try await session.executeOnce(
            """
            CREATE TABLE IF NOT EXISTS schema_version (
              version INT NOT NULL PRIMARY KEY,
              name VARCHAR(255) NOT NULL,
              applied_at DATETIME(6) NOT NULL
            ) ENGINE=InnoDB
            """
        )
        let done = Set(try await session.executeOnce("SELECT version FROM schema_version").rows.compactMap { $0.int("version") })
        var applied: [Int] = []
        for migration in self.migrations where !done.contains(migration.version) {
            self.logger.info("applying migration", metadata: ["migration": "\(migration.name)"])
            for statement in migration.statements {
                try await session.executeOnce(statement)
            }
            try await session.executeOnce(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                [.int(Int64(migration.version)), .string(migration.name), .date(Date())]
            )
            applied.append(migration.version)
        }
        return applied
    }

    static func split(_ text: String) -> [String] {
        var statements: [String] = []
        var current: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("--") || (trimmed.isEmpty && current.isEmpty) { continue }
            current.append(line)
            if trimmed.hasSuffix(";") {
                let statement = current.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
                statements.append(String(statement.dropLast()))
                current.removeAll()
            }
        }
        let rest = current.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { statements.append(rest) }
        return statements
    }
}

import BatonMySQL

/// The stores' MySQL client: every call of a store goes through it, so a
/// driver error becomes a `StoreError` here and nowhere else (what runs
/// inside a transaction's body throws out through it too).
struct StoreMySQL: Sendable {
    let client: MySQLClient

    @discardableResult
    func execute(_ sql: String, _ binds: [MySQLValue] = []) async throws -> MySQLResult {
        try await Self.translating { try await self.client.execute(sql, binds) }
    }

    func query(_ sql: String, _ binds: [MySQLValue] = []) async throws -> [MySQLRow] {
        try await Self.translating { try await self.client.query(sql, binds) }
    }

    @discardableResult
    func insertRows(into table: String, columns: [String], rows: [[MySQLValue]], suffix: String = "") async throws -> UInt64 {
        try await Self.translating { try await self.client.insertRows(into: table, columns: columns, rows: rows, suffix: suffix) }
    }

    @discardableResult
    func withTransaction<T>(_ body: (MySQLSession) async throws -> T) async throws -> T {
        try await Self.translating { try await self.client.withTransaction(body) }
    }

    @discardableResult
    func transaction<T: Sendable>(_ body: @escaping @Sendable (MySQLTrip) throws -> T) async throws -> T {
        try await Self.translating { try await self.client.transaction(body) }
    }

    /// True when a trivial query succeeds (readiness checks).
    func ping() async -> Bool {
        await self.client.ping()
    }

    private static func translating<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw StoreError.translating(error)
        }
    }
}

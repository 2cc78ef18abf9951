/// Everything the MySQL client throws.
public struct MySQLError: Error, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case invalidURL
        /// No connection could be made.
        case connectionFailed
        /// The connection broke during the call (server restart, timeout); the next call reconnects.
        case connectionLost
        /// A unique key already holds the value (errno 1062).
        case duplicateKey
        /// A lock wait timed out or a deadlock rolled the transaction back: safe to retry.
        /// Galera reports a failed certification (a conflicting write committed
        /// first on another member) as a deadlock too, on the COMMIT or on the
        /// next statement: the transaction was rolled back whole, likewise.
        case transient
        /// Any other server error (syntax, constraint, data too long…).
        case server
        /// The statement and the binds do not agree.
        case misuse
        case closed
        /// No pooled connection came free within the acquire timeout.
        case busy
    }

    public var kind: Kind
    /// MySQL/MariaDB error number, 0 when the client itself raised the error.
    public var code: UInt32
    public var sqlState: String
    public var message: String

    public init(_ kind: Kind, code: UInt32 = 0, sqlState: String = "", _ message: String) {
        self.kind = kind
        self.code = code
        self.sqlState = sqlState
        self.message = message
    }

    /// True when MySQL could not be reached: callers map it to UNAVAILABLE.
    public var isUnavailable: Bool {
        switch self.kind {
        case .connectionFailed, .connectionLost, .closed, .busy: true
        default: false
        }
    }

    public var description: String {
        self.code == 0 ? "mysql \(self.kind): \(self.message)" : "mysql \(self.kind) \(self.code) (\(self.sqlState)): \(self.message)"
    }

    /// Types a server or client error number.
    static func classify(code: UInt32, sqlState: String, message: String) -> MySQLError {
        let kind: Kind =
            switch code {
            case 1062, 1586: .duplicateKey
            case 1205, 1213: .transient
            // Client-side errors (2000-2999) leave the connection unusable, as do
            // server shutdown, a killed connection and an idle timeout; and a
            // Galera member that left the primary component refuses every
            // statement (1047, WSREP not ready): another member must serve.
            case 2000..<3000, 1053, 1927, 4031, 1047: .connectionLost
            default: .server
            }
        return MySQLError(kind, code: code, sqlState: sqlState, message)
    }
}

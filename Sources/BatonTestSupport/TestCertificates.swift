import Foundation

/// Certificates made for a test by openssl in a scratch folder under `.run/`:
/// self-signed CAs, and leaves each signed by one of them with the given
/// X.509 extensions. Every name has `<name>.pem` and `<name>.key`.
public struct TestCertificates: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String { "openssl could not make the test certificates" }
    }

    public let folder: String

    public init(prefix: String, authorities: [String], leaves: [(name: String, authority: String, extensions: String)]) throws {
        self.folder = TestEnvironment.repositoryRoot.appendingPathComponent(".run/\(prefix)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: self.folder, withIntermediateDirectories: true)
        var script = """
            set -e
            cd '\(self.folder)'
            ca() { openssl req -x509 -newkey rsa:2048 -nodes -keyout $1.key -out $1.pem -days 1 -subj "/CN=$1" 2>/dev/null; }
            leaf() { # name ca extensions
              openssl req -newkey rsa:2048 -nodes -keyout $1.key -out $1.csr -subj "/CN=$1" 2>/dev/null
              printf '%s\\n' "$3" > $1.ext
              openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial -out $1.pem -days 1 -extfile $1.ext 2>/dev/null
            }

            """
        for authority in authorities { script += "ca \(authority)\n" }
        for leaf in leaves { script += "leaf \(leaf.name) \(leaf.authority) \"\(leaf.extensions)\"\n" }
        guard try ChildProcess.run("/bin/bash", ["-c", script], environment: ProcessInfo.processInfo.environment) == 0 else { throw Failure() }
    }

    /// `name` (e.g. `server.pem`) in the folder.
    public func path(_ name: String) -> String { "\(self.folder)/\(name)" }

    public func remove() {
        try? FileManager.default.removeItem(atPath: self.folder)
    }
}

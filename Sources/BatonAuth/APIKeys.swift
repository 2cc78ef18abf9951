import BatonModel
import Crypto
import Foundation

/// The keys a node accepts, from a file of lines `<key-id> <role> <key>
/// [<tenant>]`, where key is the key itself (any printable characters but
/// whitespace, `#` included) or `sha256:<64 hex digits>` of it, and tenant
/// (`default` when absent) owns the tasks the key creates; a `#` at the
/// start of a line or after whitespace starts a comment. Only digests are
/// kept in memory.
public struct APIKeys: Sendable {
    public struct Entry: Sendable {
        public var id: String
        public var role: Role
        public var tenant: String
        var digest: [UInt8]
    }

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public let entries: [Entry]

    public init(text: String) throws(ParseError) {
        var entries: [Entry] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = Self.fields(of: rawLine)
            if fields.isEmpty { continue }
            guard fields.count == 3 || fields.count == 4 else {
                throw ParseError(description: "line \(number + 1): expected `<key-id> <role> <key> [<tenant>]`")
            }
            let tenant = fields.count == 4 ? String(fields[3]) : Tenant.default
            guard Tenant.isValid(tenant) else {
                throw ParseError(description: "line \(number + 1): a tenant is 1-\(Tenant.maxLength) of A-Z a-z 0-9 _ . -")
            }
            guard let role = Role(rawValue: String(fields[1])) else {
                throw ParseError(description: "line \(number + 1): role must be admin, submitter or viewer")
            }
            let key = fields[2]
            let digest: [UInt8]
            if key.hasPrefix("sha256:") {
                let hex = key.dropFirst("sha256:".count)
                guard hex.count == 64, let bytes = Self.bytes(fromHex: hex) else {
                    throw ParseError(description: "line \(number + 1): sha256: needs 64 hex digits")
                }
                digest = bytes
            } else {
                digest = Array(SHA256.hash(data: Array(key.utf8)))
            }
            entries.append(Entry(id: String(fields[0]), role: role, tenant: tenant, digest: digest))
        }
        guard !entries.isEmpty else { throw ParseError(description: "the key file holds no keys") }
        self.entries = entries
    }

    /// Reads a key file, refusing one that group or others may read (its
    /// keys are secrets) unless `allowReadableByOthers`.
    public init(contentsOf path: String, allowReadableByOthers: Bool = false) throws {
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? 0
        if mode & 0o077 != 0 && !allowReadableByOthers {
            throw ParseError(
                description: "\(path) may be read by group or others (mode \(String(mode & 0o777, radix: 8))): chmod 600 it, or pass --allow-readable-key-file"
            )
        }
        try self.init(text: String(contentsOfFile: path, encoding: .utf8))
    }

    /// The whitespace-separated fields of a line, up to a comment: a `#`
    /// that begins the line or follows whitespace (one inside a key is the key's).
    static func fields(of line: Substring) -> [Substring] {
        var fields: [Substring] = []
        for field in line.split(whereSeparator: \.isWhitespace) {
            if field.hasPrefix("#") { break }
            fields.append(field)
        }
        return fields
    }

    /// The entry whose key this is. Every entry is compared in full, in constant time.
    public func entry(forKey key: String) -> Entry? {
        let digest = Array(SHA256.hash(data: Array(key.utf8)))
        var found: Entry?
        for entry in self.entries {
            var difference: UInt8 = 0
            for (a, b) in zip(entry.digest, digest) { difference |= a ^ b }
            if difference == 0 && found == nil { found = entry }
        }
        return found
    }

    private static func bytes(fromHex hex: Substring) -> [UInt8]? {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}

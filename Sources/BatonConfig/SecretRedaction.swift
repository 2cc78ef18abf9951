/// What never leaves the node in clear: the password of a URL
/// (`mysql://user:secret@host` prints as `mysql://user:REDACTED@host`), and
/// any query parameter named like one (`?sentinel_password=…`).
/// Files of keys and secrets are settings by path, and their contents are
/// never printed nor logged at all.
public enum SecretRedaction {
    public static let mask = "REDACTED"

    /// `value` with the password of any `scheme://user:password@` and the
    /// values of `…password=` query parameters redacted.
    public static func redacted(_ value: String) -> String {
        guard let scheme = value.range(of: "://") else { return value }
        let rest = value[scheme.upperBound...]
        // The authority ends at the first / ? or #; its userinfo at its last @.
        let authorityEnd = rest.firstIndex { "/?#".contains($0) } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var text = value
        if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
            text = String(value[..<authority.index(after: colon)]) + Self.mask + String(value[at...])
        }
        return Self.redactingQuery(text)
    }

    private static func redactingQuery(_ value: String) -> String {
        guard let mark = value.firstIndex(of: "?") else { return value }
        let end = value[mark...].firstIndex(of: "#") ?? value.endIndex
        let pairs = value[value.index(after: mark)..<end].split(separator: "&", omittingEmptySubsequences: false).map { pair in
            guard let equals = pair.firstIndex(of: "="), pair[..<equals].lowercased().contains("password") else { return String(pair) }
            return String(pair[...equals]) + Self.mask
        }
        return String(value[...mark]) + pairs.joined(separator: "&") + String(value[end...])
    }
}

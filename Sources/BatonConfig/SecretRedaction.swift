/// What never leaves the node in clear: the password of a URL
/// (`mysql://user:secret@host` prints as `mysql://user:REDACTED@host`).
/// Files of keys and secrets are settings by path, and their contents are
/// never printed nor logged at all.
public enum SecretRedaction {
    public static let mask = "REDACTED"

    /// `value` with the password of any `scheme://user:password@` redacted.
    public static func redacted(_ value: String) -> String {
        guard let scheme = value.range(of: "://") else { return value }
        let rest = value[scheme.upperBound...]
        // The authority ends at the first / ? or #; its userinfo at its last @.
        let authorityEnd = rest.firstIndex { "/?#".contains($0) } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return value }
        return String(value[..<authority.index(after: colon)]) + Self.mask + String(value[at...])
    }
}

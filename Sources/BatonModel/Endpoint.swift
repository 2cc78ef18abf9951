/// Executor endpoints as errors, logs and metrics may show them. A URL's
/// userinfo, query and fragment often carry credentials (`?token=…`,
/// `https://user:secret@host/…`), and a task's error is readable by any
/// viewer: they are cut, leaving where the call went.
public enum Endpoint {
    /// `https://user:pass@api.example:8443/hook?token=x#f` → `https://api.example:8443/hook?…`
    public static func redacted(_ endpoint: String) -> String {
        var rest = Substring(endpoint)
        var scheme = ""
        if let separator = rest.firstRange(of: "://") {
            scheme = String(rest[..<separator.upperBound])
            rest = rest[separator.upperBound...]
        }
        var cut = false
        if let mark = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            cut = true
            rest = rest[..<mark]
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        return scheme + authority + rest[authorityEnd...] + (cut ? "?…" : "")
    }
}

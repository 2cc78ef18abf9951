/// Whether a browser's `Origin` names the server it was sent to.
public enum OriginCheck {
    /// `http://host:port` (or https) against the request's authority
    /// (`Host`); "null" and anything else foreign are not the same origin.
    public static func isSameOrigin(_ origin: String, authority: String?) -> Bool {
        guard let authority, !authority.isEmpty else { return false }
        for scheme in ["http://", "https://"] where origin.lowercased().hasPrefix(scheme) {
            let host = origin.dropFirst(scheme.count)
            return !host.contains("/") && host.lowercased() == authority.lowercased()
        }
        return false
    }
}

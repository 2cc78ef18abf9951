import Foundation

/// A query string as HTML forms, `URLSearchParams` and Python's requests
/// write it: `+` is a space, then percent-decoding (`%2B` is a `+`).
/// Hummingbird's `queryParameters` leaves `+` as is, which a cron
/// expression (`30 2 * * *` → `30+2+*+*+*`) cannot afford.
enum FormQuery {
    static func parameters(_ query: String?) -> [(key: String, value: String)] {
        guard let query, !query.isEmpty else { return [] }
        return query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (key: Self.decode(parts[0]), value: parts.count > 1 ? Self.decode(parts[1]) : "")
        }
    }

    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}

import Foundation

/// JSON for `map<string,string>` columns (payload, headers), without the
/// cost of Codable on the hot path.
public enum StringMapJSON {
    public static func encode(_ map: [String: String]) -> String {
        var out = "{"
        var first = true
        // Sorted keys: the same map always gives the same text.
        for key in map.keys.sorted() {
            if !first { out += "," }
            first = false
            appendQuoted(key, to: &out)
            out += ":"
            appendQuoted(map[key]!, to: &out)
        }
        return out + "}"
    }

    public static func decode(_ text: String) -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return [:] }
        var map: [String: String] = [:]
        for (key, value) in object {
            map[key] = value as? String ?? "\(value)"
        }
        return map
    }

    public static func appendQuoted(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

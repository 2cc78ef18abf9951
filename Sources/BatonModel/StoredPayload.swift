/// The one JSON document a task's (or a schedule's) `payload` column holds:
/// its string map, or its typed arguments (`args`, a JSON object).
///
/// A string map is stored as it always was, `{"k":"v",…}`, every value a
/// string. Typed arguments are stored as `{"args":<object>}`: no string map
/// can begin that way (its "args" value would be a string), so rows written
/// before args existed read as before, and a row says which it holds by its
/// first bytes: a task without args pays no extra parsing.
public enum StoredPayload {
    /// What every stored args document begins with (the object follows).
    static let argsPrefix = "{\"args\":"

    public static func encode(payload: [String: String], args: String?) -> String {
        guard let args else { return StringMapJSON.encode(payload) }
        return Self.argsPrefix + args + "}"
    }

    /// The string map and the args' JSON text (nil when stored as a map).
    public static func decode(_ text: String) -> (payload: [String: String], args: String?) {
        let utf8 = text.utf8
        let prefix = Self.argsPrefix.utf8
        // `{"args":{`: the object's own brace rules out a map's string value.
        guard utf8.starts(with: prefix), utf8.dropFirst(prefix.count).first == UInt8(ascii: "{"), utf8.last == UInt8(ascii: "}") else {
            return (StringMapJSON.decode(text), nil)
        }
        let body = utf8.dropFirst(prefix.count).dropLast()
        return ([:], String(Substring(body)))
    }
}

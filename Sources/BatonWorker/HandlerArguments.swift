import BatonModel
import Foundation

/// The conversions between a task's input and a local handler: args or a
/// payload map into a Decodable, an Encodable into the result text, args
/// into the string map an older handler takes.
enum HandlerArguments {
    /// `Arguments` from the task's args (JSON text), or from its payload map
    /// (a task created with strings: `{"amount":"42"}` decodes into String
    /// fields). A mismatch is the task's input, so retrying cannot help.
    static func decode<Arguments: Decodable>(_ type: Arguments.Type, args: String?, payload: [String: String]) throws -> Arguments {
        let json = args ?? StringMapJSON.encode(payload)
        do {
            return try JSONDecoder().decode(Arguments.self, from: Data(json.utf8))
        } catch let error as DecodingError {
            let source = args == nil ? "payload" : "args"
            throw ExecutionFailure("the task's \(source) do not decode as \(Arguments.self): \(Self.describe(error))", retryable: false)
        }
    }

    /// The result text: a String as it is (as the HTTP executor keeps a
    /// string `data`), anything else as its JSON.
    static func result<Output: Encodable>(_ output: Output) throws -> String {
        if let text = output as? String { return text }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(output), as: UTF8.self)
        } catch {
            throw ExecutionFailure("the handler's \(Output.self) result does not encode as JSON: \(error)", retryable: false)
        }
    }

    /// Args as a string map, for a handler registered with one: strings as
    /// they are, other values as their JSON text (`{"ms":100}` -> ms = "100").
    static func strings(_ args: String) throws -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(args.utf8)) as? [String: Any] else {
            throw ExecutionFailure("the task's args are not a JSON object", retryable: false)
        }
        var map: [String: String] = [:]
        for (key, value) in object {
            if let text = value as? String {
                map[key] = text
            } else if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes]) {
                map[key] = String(decoding: data, as: UTF8.self)
            }
        }
        return map
    }

    /// "amount: expected Int, found a string" — the field and what went wrong.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let text = codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.hasPrefix(".") ? String(text.dropFirst()) : (text.isEmpty ? "(top level)" : text)
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing key \(path(context.codingPath + [key]))"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(type) (\(context.debugDescription))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(type), found null"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

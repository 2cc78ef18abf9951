import SwiftProtobuf

/// A `google.protobuf.Struct` as compact JSON text, integral numbers written
/// as integers: SwiftProtobuf writes 42 as `42.0`, which a service decoding
/// an integer field may refuse. This is the text stored as a task's args and
/// sent to its executors. Keys sorted, so equal args give equal text.
public enum StructJSON {
    public struct Unencodable: Error, CustomStringConvertible {
        public var description: String
    }

    /// Doubles hold every integer up to 2^53 exactly; past it, keep the double's own form.
    private static let exactIntegers = 9_007_199_254_740_992.0

    public static func encode(_ object: Google_Protobuf_Struct) throws -> String {
        var out = ""
        try Self.append(object, to: &out)
        return out
    }

    private static func append(_ object: Google_Protobuf_Struct, to out: inout String) throws {
        out += "{"
        for (index, key) in object.fields.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            out += try Google_Protobuf_Value(stringValue: key).jsonString()
            out += ":"
            try Self.append(object.fields[key]!, to: &out)
        }
        out += "}"
    }

    private static func append(_ value: Google_Protobuf_Value, to out: inout String) throws {
        switch value.kind {
        case .nullValue: out += "null"
        case .boolValue(let flag): out += flag ? "true" : "false"
        case .stringValue: out += try value.jsonString()
        case .numberValue(let number):
            guard number.isFinite else { throw Unencodable(description: "a number is \(number), which JSON cannot carry") }
            if number == number.rounded(), abs(number) < Self.exactIntegers {
                out += String(Int64(number))
            } else {
                out += try value.jsonString()
            }
        case .structValue(let object): try Self.append(object, to: &out)
        case .listValue(let list):
            out += "["
            for (index, item) in list.values.enumerated() {
                if index > 0 { out += "," }
                try Self.append(item, to: &out)
            }
            out += "]"
        case nil: throw Unencodable(description: "a value has no kind (null, number, string, bool, struct or list)")
        }
    }
}

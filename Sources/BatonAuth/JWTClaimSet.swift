import JWTKit

/// A JWT's payload as it came: every top-level claim by name, so the role
/// and tenant claims can be named at run time (`--jwt-role-claim`).
/// `JWTVerifier` checks the claims itself after jwt-kit checked the
/// signature, with messages that never echo the token.
struct JWTClaimSet: JWTPayload {
    /// A claim's JSON value, as far as any check needs it.
    enum Value: Codable, Sendable, Equatable {
        case string(String)
        case number(Double)
        case strings([String])
        /// true/false, null, an object, a mixed array: no claim we read is one.
        case other

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let string = try? container.decode(String.self) {
                self = .string(string)
            } else if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else if let strings = try? container.decode([String].self) {
                self = .strings(strings)
            } else {
                self = .other
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let string): try container.encode(string)
            case .number(let number): try container.encode(number)
            case .strings(let strings): try container.encode(strings)
            case .other: try container.encodeNil()
            }
        }
    }

    private struct Name: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    var claims: [String: Value]

    init(claims: [String: Value]) {
        self.claims = claims
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Name.self)
        var claims: [String: Value] = [:]
        for key in container.allKeys {
            claims[key.stringValue] = try container.decode(Value.self, forKey: key)
        }
        self.claims = claims
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Name.self)
        for (name, value) in self.claims {
            try container.encode(value, forKey: Name(stringValue: name))
        }
    }

    /// Claims are checked by `JWTVerifier`, which knows the node's rules.
    func verify(using algorithm: some JWTAlgorithm) async throws {}

    subscript(name: String) -> Value? { self.claims[name] }
}

import Foundation

/// Every setting's value and where it came from, and the argument list that
/// gives the flag parser those values (`ConfigurationSources.resolve`).
public struct EffectiveConfiguration: Sendable {
    public enum Origin: Sendable, Equatable {
        case commandLine
        /// The variable's name.
        case environment(String)
        /// The file's path.
        case file(String)
        case `default`

        var comment: String {
            switch self {
            case .commandLine: "flag"
            case .environment(let name): "env \(name)"
            case .file: "file"
            case .default: "default"
            }
        }
    }

    public struct Setting: Sendable {
        public var key: ConfigurationKey
        /// nil: unset (an option without a default).
        public var value: String?
        public var origin: Origin

        public init(key: ConfigurationKey, value: String?, origin: Origin) {
            self.key = key
            self.value = value
            self.origin = origin
        }
    }

    /// For the flag parser: file and environment values, then the command line.
    public let arguments: [String]
    public let settings: [Setting]

    public init(arguments: [String], settings: [Setting]) {
        self.arguments = arguments
        self.settings = settings
    }

    public func origin(of flag: String) -> Origin? { self.settings.first { $0.key.flag == flag }?.origin }

    /// The configuration as a YAML file that would give it, each line with its
    /// source as a comment, secrets redacted (`SecretRedaction`). `computed`
    /// fills in defaults that are not constants (the host name as node id).
    public func yaml(computed: [String: String] = [:]) -> String {
        var lines = ["# baton-node --print-config: the effective configuration (flags > environment > file > defaults)"]
        for setting in self.settings {
            let value = setting.origin == .default ? (setting.value ?? computed[setting.key.flag]) : setting.value
            let text: String
            if let value {
                text = setting.key.kind == .option ? Self.scalar(SecretRedaction.redacted(value)) : (ConfigurationKey.bool(value) ?? false ? "true" : "false")
            } else {
                text = "null"
            }
            lines.append("\(setting.key.fileKey): \(text)  # \(setting.origin.comment)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Plain when YAML reads it back as the same text, else double-quoted
    /// (a JSON string is a YAML string).
    static func scalar(_ text: String) -> String {
        // A comma is plain outside flow collections: `roles: api,worker`.
        let plain = text.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "_./@+-,".unicodeScalars.contains($0) } && !text.hasPrefix(",")
        let special = ["", "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"].contains(text.lowercased())
        if plain, !special, !text.hasPrefix("-") || Double(text) != nil { return text }
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}

extension EffectiveConfiguration {
    /// A parser's message about `--flag` with where that flag's value came
    /// from when it was not the command line: an operator who set
    /// BATON_GRPC_PORT looks there, not for a flag.
    public func naming(_ message: String) -> String {
        for setting in self.settings where message.contains("--\(setting.key.flag)'") || message.contains("--\(setting.key.flag) ") {
            switch setting.origin {
            case .environment(let name): return message + " (set by \(name))"
            case .file(let path): return message + " (set by \(setting.key.fileKey) in \(path))"
            case .commandLine, .default: continue
            }
        }
        return message
    }
}

/// One setting of a command: its flag, and the file key and environment
/// variables derived from the flag's name, never spelled by hand:
/// `--api-mysql-connections` ↔ `api_mysql_connections` ↔ `BATON_API_MYSQL_CONNECTIONS`.
/// A flag's older names (`--namespace` for `--redis-namespace`) keep
/// working, with their own file keys and variables read after its own.
public struct ConfigurationKey: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `--name <value>`.
        case option
        /// `--name`, off unless given.
        case flag
        /// `--name` / `--no-name`.
        case invertibleFlag
    }

    /// The long flag without its dashes: `api-mysql-connections`.
    public var flag: String
    public var kind: Kind
    /// As ArgumentParser shows it (`true`/`false` for a switch); nil for an option without a default.
    public var defaultValue: String?
    /// Older long names of the flag, which the parser accepts too (`namespace`).
    public var flagAliases: [String]
    /// Older variables read too, after the derived ones (`REDIS_ADDR`).
    public var environmentAliases: [String]

    public init(flag: String, kind: Kind, defaultValue: String? = nil, flagAliases: [String] = [], environmentAliases: [String] = []) {
        self.flag = flag
        self.kind = kind
        self.defaultValue = defaultValue
        self.flagAliases = flagAliases
        self.environmentAliases = environmentAliases
    }

    /// The key in a configuration file: `api_mysql_connections`.
    public var fileKey: String { Self.fileKey(of: self.flag) }

    /// `fileKey`, then those of the flag's older names.
    public var fileKeys: [String] { [self.fileKey] + self.flagAliases.map(Self.fileKey(of:)) }

    /// `BATON_API_MYSQL_CONNECTIONS`, then those of the flag's older names, then any aliases.
    public var environmentNames: [String] { self.fileKeys.map { "BATON_" + $0.uppercased() } + self.environmentAliases }

    /// Whether `--name` sets this key.
    public func isNamed(_ name: String) -> Bool { name == self.flag || self.flagAliases.contains(name) }

    private static func fileKey(of flag: String) -> String { flag.replacingOccurrences(of: "-", with: "_") }

    public struct ValueError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The command-line arguments that set this key to `value` (text from a
    /// file or a variable). An off switch of a plain flag is no argument.
    public func arguments(for value: String) throws(ValueError) -> [String] {
        switch self.kind {
        case .option:
            return ["--\(self.flag)", value]
        case .flag, .invertibleFlag:
            guard let on = Self.bool(value) else { throw ValueError(description: "\(self.fileKey) must be true or false, not \(value)") }
            if on { return ["--\(self.flag)"] }
            return self.kind == .invertibleFlag ? ["--no-\(self.flag)"] : []
        }
    }

    /// YAML's and the shell's spellings of a switch.
    static func bool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0": false
        default: nil
        }
    }
}

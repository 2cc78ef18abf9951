import ArgumentParser
import Foundation

/// Every setting of a `ParsableArguments` type, read from ArgumentParser's
/// own description of it (`_dumpHelp`, the JSON behind
/// `--experimental-dump-help`): the flags are declared once, in the options
/// type, and a new flag has its file key and variable with no other edit.
public struct ConfigurationTable: Sendable {
    public let keys: [ConfigurationKey]

    public init(keys: [ConfigurationKey]) {
        self.keys = keys
    }

    /// `aliases`: older variable names by flag (`["redis": ["REDIS_ADDR"]]`);
    /// `excluding`: flags that are no setting (`--help`).
    public init(_ options: any ParsableArguments.Type, environmentAliases aliases: [String: [String]] = [:], excluding: Set<String> = []) {
        let dump = (try? JSONDecoder().decode(Dump.self, from: Data(options._dumpHelp().utf8)))?.command.arguments ?? []
        let skipped = excluding.union(["help", "version", "experimental-dump-help"])
        // The first long name is the flag; any later one an older name it keeps (`namespace`).
        let named = dump.compactMap { argument in
            let long = (argument.names ?? []).filter { $0.kind == "long" }.map(\.name)
            return long.first.map { (flag: $0, older: Array(long.dropFirst()), argument: argument) }
        }
        let flags = Set(named.filter { $0.argument.kind == "flag" }.map(\.flag))
        var keys: [ConfigurationKey] = []
        for (flag, older, argument) in named where argument.kind != "positional" && !skipped.contains(flag) {
            // An inverted switch comes as two flags, `name` and `no-name`; its default is the one shown as given.
            if argument.kind == "flag", flag.hasPrefix("no-"), flags.contains(String(flag.dropFirst(3))) { continue }
            let key: ConfigurationKey
            if argument.kind == "option" {
                key = ConfigurationKey(
                    flag: flag, kind: .option, defaultValue: argument.defaultValue, flagAliases: older, environmentAliases: aliases[flag] ?? []
                )
            } else {
                let invertible = flags.contains("no-\(flag)")
                let on = argument.defaultValue == "--\(flag)"
                key = ConfigurationKey(
                    flag: flag, kind: invertible ? .invertibleFlag : .flag, defaultValue: on ? "true" : "false", flagAliases: older,
                    environmentAliases: aliases[flag] ?? []
                )
            }
            keys.append(key)
        }
        self.keys = keys
    }

    /// The key `--flag` sets (by its name or an older one).
    public func key(flag: String) -> ConfigurationKey? { self.keys.first { $0.isNamed(flag) } }

    public func key(fileKey: String) -> ConfigurationKey? { self.keys.first { $0.fileKeys.contains(fileKey) } }

    // The part of ArgumentParser's ToolInfoV0 read here.
    private struct Dump: Decodable {
        struct Command: Decodable { var arguments: [Argument]? }
        struct Argument: Decodable {
            var kind: String
            var names: [Name]?
            var defaultValue: String?
        }
        struct Name: Decodable {
            var kind: String
            var name: String
        }
        var command: Command
    }
}


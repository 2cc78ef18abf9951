/// Resolves every setting from its sources, highest first: a flag on the
/// command line, then an environment variable, then the configuration file,
/// then the flag's default.
///
/// The result is an argument list for the flag parser: the file's and the
/// environment's values as flags, then the command line, whose later value
/// wins. One parser checks every value whatever its source, and the
/// command line needs no knowledge of the others.
public enum ConfigurationSources {
    /// `valueOptions`: flags outside the table that take a value (`--config
    /// <path>`), so that reading the command line skips their values.
    public static func resolve(
        table: ConfigurationTable, commandLine: [String], environment: [String: String], file: ConfigurationFile?,
        valueOptions: Set<String> = ["config"]
    ) throws(ConfigurationKey.ValueError) -> EffectiveConfiguration {
        let given = Self.commandLineValues(commandLine, table: table, valueOptions: valueOptions)
        var arguments: [String] = []
        var settings: [EffectiveConfiguration.Setting] = []
        for key in table.keys {
            if let value = given[key.flag] {
                settings.append(.init(key: key, value: value, origin: .commandLine))
                continue
            }
            let variable = key.environmentNames.first { environment[$0].map { !$0.isEmpty } ?? false }
            if let variable, let value = environment[variable] {
                do {
                    arguments += try key.arguments(for: value)
                } catch {
                    throw .init(description: "\(variable): \(error.description)")
                }
                settings.append(.init(key: key, value: value, origin: .environment(variable)))
            } else if let file, let value = key.fileKeys.lazy.compactMap({ file.values[$0] }).first {
                do {
                    arguments += try key.arguments(for: value)
                } catch {
                    throw .init(description: "--config \(file.path): \(error.description)")
                }
                settings.append(.init(key: key, value: value, origin: .file(file.path)))
            } else {
                settings.append(.init(key: key, value: key.defaultValue, origin: .default))
            }
        }
        return EffectiveConfiguration(arguments: arguments + commandLine, settings: settings)
    }

    /// The value the command line gives `--option` (`--config <path>`), read
    /// before the command is parsed.
    public static func value(of option: String, in commandLine: [String]) -> String? {
        Self.commandLineValues(commandLine, table: ConfigurationTable(keys: [.init(flag: option, kind: .option)]), valueOptions: [])[option]
    }

    /// The table's settings the command line gives, by flag (the last of a
    /// repeated one, as the parser takes it); a switch reads `true`/`false`.
    static func commandLineValues(_ arguments: [String], table: ConfigurationTable, valueOptions: Set<String>) -> [String: String] {
        var values: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else { continue }
            let body = argument.dropFirst(2)
            let name = String(body.prefix { $0 != "=" })
            let inline = body.firstIndex(of: "=").map { String(body[body.index(after: $0)...]) }
            if let key = table.key(flag: name) {
                switch key.kind {
                case .option:
                    if let inline {
                        values[key.flag] = inline
                    } else if index < arguments.count {
                        values[key.flag] = arguments[index]
                        index += 1
                    }
                case .flag, .invertibleFlag:
                    values[key.flag] = "true"
                }
            } else if name.hasPrefix("no-"), let key = table.key(flag: String(name.dropFirst(3))), key.kind == .invertibleFlag {
                values[key.flag] = "false"
            } else if valueOptions.contains(name), inline == nil {
                index += 1
            }
        }
        return values
    }
}

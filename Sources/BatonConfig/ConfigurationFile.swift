import Foundation
import Yams

/// A YAML configuration file read into setting values, as text for the
/// flag parser to check like any command-line value.
///
/// Keys are the flags' file keys (`grpc_port: 9091`); a mapping joins its
/// key to its children's with `_` (`grpc: {port: 9091}` is `grpc_port`); a
/// list is a comma-separated value (`roles: [api, worker]`); `null` leaves a
/// setting unset. A key no flag has is an error naming it: a mistyped key
/// must not be silently ignored.
public struct ConfigurationFile: Sendable {
    public let path: String
    /// By file key.
    public let values: [String: String]

    public struct ReadError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(path: String, table: ConfigurationTable) throws(ReadError) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ReadError(description: "--config \(path): cannot read it (\(error.localizedDescription))")
        }
        try self.init(path: path, text: text, table: table)
    }

    public init(path: String, text: String, table: ConfigurationTable) throws(ReadError) {
        self.path = path
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ReadError(description: "--config \(path): not valid YAML: \(error)")
        }
        var values: [String: String] = [:]
        switch root {
        case nil:
            break  // an empty file
        case .mapping(let mapping)?:
            try Self.flatten(mapping, prefix: "", into: &values, path: path)
        default:
            throw ReadError(description: "--config \(path): expected a mapping of settings (key: value)")
        }
        for key in values.keys.sorted() where table.key(fileKey: key) == nil {
            throw ReadError(description: "--config \(path): unknown key \(key) (keys are the flags of baton-node --help with _ for -)")
        }
        self.values = values
    }

    private static func flatten(_ mapping: Node.Mapping, prefix: String, into values: inout [String: String], path: String) throws(ReadError) {
        for (keyNode, valueNode) in mapping {
            guard let name = keyNode.string, !name.isEmpty else { throw ReadError(description: "--config \(path): a key is not text") }
            let key = prefix + name.replacingOccurrences(of: "-", with: "_")
            switch valueNode {
            case .mapping(let children):
                try Self.flatten(children, prefix: key + "_", into: &values, path: path)
            case .sequence(let items):
                let texts = items.compactMap(\.string)
                guard texts.count == items.count else { throw ReadError(description: "--config \(path): \(key): a list holds plain values only") }
                values[key] = texts.joined(separator: ",")
            case .scalar:
                if valueNode.null == nil, let text = valueNode.string { values[key] = text }
            case .alias:
                throw ReadError(description: "--config \(path): \(key): aliases are not supported")
            }
        }
    }
}

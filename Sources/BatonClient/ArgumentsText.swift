import BatonProto
import Foundation
import SwiftProtobuf

/// Typed task arguments as `baton-client` reads (`--args`) and prints them;
/// here (not in the executable) so tests can check them.
public enum ArgumentsText {
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// `--args`: a JSON object inline (`'{"amount":42}'`), `@file.json`, or
    /// `@-` for stdin. Anything but a JSON object is refused here, before a call.
    public static func parse(_ option: String, read: (String) throws -> Data = ArgumentsText.read) throws -> Google_Protobuf_Struct {
        let data = option.hasPrefix("@") ? try read(String(option.dropFirst())) : Data(option.utf8)
        // Struct's own JSON parser would name a proto type; this says what is wrong.
        guard (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) is [String: Any] else {
            throw Invalid(description: "--args must be a JSON object, e.g. '{\"amount\":42}' or @file.json")
        }
        do {
            return try Google_Protobuf_Struct(jsonUTF8Bytes: data)
        } catch {
            throw Invalid(description: "--args: \(error)")
        }
    }

    /// A file's bytes; `-` is stdin.
    public static func read(_ path: String) throws -> Data {
        path == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// Args on one line, as a task's or a schedule's detail view shows them.
    public static func text(_ args: Google_Protobuf_Struct) -> String {
        (try? StructJSON.encode(args)) ?? "{}"
    }
}

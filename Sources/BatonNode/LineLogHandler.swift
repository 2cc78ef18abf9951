import Foundation
import Logging
import Synchronization

/// Writes each log record as one line, text or JSON, to stderr and a file.
struct LineLogHandler: LogHandler {
    enum Format: Sendable { case text, json }

    /// The outputs shared by every logger of the process.
    final class Sink: Sendable {
        private let file: Mutex<FileHandle?>
        let format: Format

        init(format: Format, directory: String, nodeID: String) {
            self.format = format
            var handle: FileHandle?
            if (try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)) != nil {
                let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
                let path = "\(directory)/\(nodeID)-\(stamp).log"
                _ = FileManager.default.createFile(atPath: path, contents: nil)
                handle = FileHandle(forWritingAtPath: path)
            }
            self.file = Mutex(handle)
        }

        func write(_ line: String) {
            let data = Data((line + "\n").utf8)
            FileHandle.standardError.write(data)
            self.file.withLock { $0?.write(data) }
        }
    }

    let label: String
    let sink: Sink
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
        let time = ISO8601DateFormatter.withFractions.string(from: Date())
        switch self.sink.format {
        case .text:
            let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            self.sink.write("\(time) \(event.level) \(self.label): \(event.message)\(fields.isEmpty ? "" : " " + fields)")
        case .json:
            var object: [String: String] = ["time": time, "level": event.level.rawValue, "logger": self.label, "message": "\(event.message)"]
            for (key, value) in merged { object[key] = "\(value)" }
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
                self.sink.write(String(decoding: data, as: UTF8.self))
            }
        }
    }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let withFractions: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}

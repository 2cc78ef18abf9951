import Logging
import Synchronization

/// Every process log line (level, message and metadata) of the loggers it makes.
final class LogCapture: Sendable {
    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = self.metadata.merging(event.metadata ?? [:]) { $1 }
            self.capture.lines.withLock { $0.append("\(event.level) \(event.message) \(all)") }
        }
    }

    let lines = Mutex<[String]>([])
    var logger: Logger { Logger(label: "log-capture") { _ in Handler(capture: self) } }
    var all: String { self.lines.withLock { $0.joined(separator: "\n") } }
}

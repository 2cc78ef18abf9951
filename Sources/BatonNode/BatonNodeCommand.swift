import ArgumentParser
import BatonAPI
import BatonBroker
import BatonHTTP
import BatonModel
import BatonMySQL
import BatonRedis
import BatonScheduler
import BatonStore
import BatonWorker
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals

@main
struct BatonNodeCommand: AsyncParsableCommand {
    /// A bad flag or value: one line on stderr and exit code 2.
    static func main() async {
        let command: BatonNodeCommand
        do {
            command = try Self.parse()
        } catch {
            let code = Self.exitCode(for: error)
            if code == .success {
                Self.exit(withError: error)  // --help, --version
            }
            let message = Self.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
            FileHandle.standardError.write(Data("baton-node: \(message)\n".utf8))
            Foundation.exit(2)
        }
        do {
            try await command.run()
        } catch {
            FileHandle.standardError.write(Data("baton-node: \(error)\n".utf8))
            // _exit, not exit: the node stops on an error (a fenced worker,
            // say) with event loops and the blocking pools' threads still
            // inside hiredis and Connector/C; exit's atexit handlers and
            // static destructors would tear those libraries down under them
            // (a crash at exit instead of code 1). Log lines are unbuffered.
            _exit(1)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "baton-node",
        abstract: "One node of a Baton cluster: API, elector, dispatcher, recoverer, worker and HTTP endpoints."
    )

    @OptionGroup var options: NodeOptions

    func run() async throws {
        let sink = LineLogHandler.Sink(format: self.options.logFormat == "json" ? .json : .text, directory: self.options.logDir, nodeID: self.options.id)
        let level = self.options.parsedLogLevel ?? .info
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, sink: sink, logLevel: level) }
        var logger = Logger(label: "baton")
        logger[metadataKey: "node"] = "\(self.options.id)"

        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let node = try await Node.start(options: self.options, metrics: registry, logger: logger)
        try await node.run()
    }
}

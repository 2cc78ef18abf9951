import ArgumentParser
import BatonBroker
import BatonConfig
import BatonHTTP
import BatonKit
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
        var configuration: EffectiveConfiguration?
        do {
            configuration = try Self.configuration(commandLine: Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
            command = try Self.parse(configuration?.arguments ?? [])
        } catch {
            let code = Self.exitCode(for: error)
            if code == .success {
                Self.exit(withError: error)  // --help, --version
            }
            let message = Self.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
            FileHandle.standardError.write(Data("baton-node: \(configuration?.naming(message) ?? message)\n".utf8))
            Foundation.exit(2)
        }
        do {
            try await command.run(configuration ?? EffectiveConfiguration(arguments: [], settings: []))
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
        abstract: "One node of a Baton cluster: API, elector, dispatcher, recoverer, worker and HTTP endpoints.",
        discussion: """
            Every flag is also a key of the --config file and an environment variable, named after it: --grpc-port is \
            grpc_port: in the file and BATON_GRPC_PORT in the environment (--redis and --mysql also read REDIS_ADDR and \
            MYSQL_DSN). A flag wins over a variable, a variable over the file, the file over the default.
            """,
        version: BatonVersion.current
    )

    @Option(help: "YAML file of settings, keyed by flag name with _ for - (grpc_port: 9091). Default: $BATON_CONFIG.")
    var config: String?

    @Flag(help: "Print the effective configuration (YAML, secrets redacted) and exit.")
    var printConfig = false

    @OptionGroup var options: NodeOptions

    /// Every setting from flags, environment and `--config` file, as the
    /// argument list the parser reads (`ConfigurationSources`).
    static func configuration(commandLine: [String], environment: [String: String]) throws -> EffectiveConfiguration {
        let table = NodeOptions.configurationTable
        let path = ConfigurationSources.value(of: "config", in: commandLine) ?? environment["BATON_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let file = try path.map { path throws(ConfigurationFile.ReadError) in try ConfigurationFile(path: path, table: table) }
        return try ConfigurationSources.resolve(table: table, commandLine: commandLine, environment: environment, file: file)
    }

    /// `main` resolves the sources before parsing; this entry point (not
    /// used by `main`) does the same from the process's own.
    func run() async throws {
        try await self.run(Self.configuration(commandLine: Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment))
    }

    func run(_ effective: EffectiveConfiguration) async throws {
        if self.printConfig {
            print(effective.yaml(computed: self.options.computedDefaults), terminator: "")
            return
        }
        let sink = LineLogHandler.Sink(format: self.options.logFormat == "json" ? .json : .text, directory: self.options.logDir, nodeID: self.options.nodeID)
        let level = self.options.parsedLogLevel ?? .info
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, sink: sink, logLevel: level) }
        var logger = Logger(label: "baton")
        logger[metadataKey: "node"] = "\(self.options.nodeID)"

        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let settings = try self.options.settings()
        self.warnOfPasswordsInArguments(effective, logger: logger)
        // One clock for the cluster's decisions and tokens' times: Redis's,
        // synced by the node before anything is written or served.
        let clock = ClusterClock()
        // Keys and tokens first: a bad file stops the node before it opens anything.
        let authenticator = try await NodeCredentials.authenticator(options: self.options, clock: clock, logger: logger)
        // Trapped now, before anything serves: a SIGHUP reloads keys, never kills the node.
        let reloader = CredentialReloader(
            authenticator: authenticator, options: self.options, clock: clock, hangups: await UnixSignalsSequence(trapping: .sighup),
            interval: .seconds(2), logger: logger
        )
        let node = try await Node.start(
            settings: settings, authenticator: authenticator, services: [reloader], metricsText: { registry.emitToString() }, clock: clock,
            logger: logger
        )
        try await node.run()
    }

    /// Command lines are readable by every user of the machine (`ps`).
    private func warnOfPasswordsInArguments(_ effective: EffectiveConfiguration, logger: Logger) {
        let options = self.options
        if effective.origin(of: "mysql") == .commandLine, options.mysqlPasswordFile == nil,
            (try? MySQLConfiguration(url: options.mysqlURL))?.password.isEmpty == false
        {
            logger.warning("the --mysql URL carries a password, which `ps` shows to every user here: use $MYSQL_DSN or --mysql-password-file")
        }
        if effective.origin(of: "redis") == .commandLine, options.redisPasswordFile == nil, Self.carriesPassword(options.redisURL) {
            logger.warning("the --redis URL carries a password, which `ps` shows to every user here: use $REDIS_ADDR or --redis-password-file")
        }
    }

    /// Whether a Redis URL holds a password: the master's, or the Sentinels'.
    private static func carriesPassword(_ url: String) -> Bool {
        guard let configuration = try? RedisConfiguration(url: url) else { return false }
        return configuration.password != nil || configuration.sentinel?.url.sentinelPassword != nil
    }
}

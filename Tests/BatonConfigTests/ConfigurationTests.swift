import ArgumentParser
import BatonConfig
import BatonModel
import Testing

/// The shapes of baton-node's flags: options with and without defaults, a
/// renamed option, one that keeps an older name, an off-by-default switch
/// and an invertible one.
private struct SampleOptions: ParsableArguments {
    @Option var grpcPort = 9090
    @Option(name: .customLong("api-mysql-connections")) var apiMySQLConnections = 16
    @Option var redis: String?
    @Option(name: [.customLong("redis-namespace"), .customLong("namespace")]) var namespace = "baton"
    @Option var roles = "api,scheduler,worker"
    @Flag var allowEvictingRedis = false
    @Flag(inversion: .prefixedNo) var grpcClientPingsWithoutCalls = true
}

private let table = ConfigurationTable(SampleOptions.self, environmentAliases: ["redis": ["REDIS_ADDR"]])

/// Resolves the sources and parses the result as the node does.
private func parse(
    _ commandLine: [String] = [], environment: [String: String] = [:], file text: String? = nil
) throws -> (SampleOptions, EffectiveConfiguration) {
    let file = try text.map { text throws(ConfigurationFile.ReadError) in try ConfigurationFile(path: "baton.yaml", text: text, table: table) }
    let effective = try ConfigurationSources.resolve(table: table, commandLine: commandLine, environment: environment, file: file)
    return (try SampleOptions.parse(effective.arguments), effective)
}

@Suite struct ConfigurationTableTests {
    @Test func keysAndVariablesAreDerivedFromTheFlags() throws {
        #expect(
            table.keys.map(\.flag) == ["grpc-port", "api-mysql-connections", "redis", "redis-namespace", "roles", "allow-evicting-redis", "grpc-client-pings-without-calls"]
        )
        let connections = try #require(table.key(flag: "api-mysql-connections"))
        #expect(connections.fileKey == "api_mysql_connections")
        #expect(connections.environmentNames == ["BATON_API_MYSQL_CONNECTIONS"])
        #expect(connections.defaultValue == "16")
        #expect(table.key(flag: "redis")?.environmentNames == ["BATON_REDIS", "REDIS_ADDR"])
        #expect(table.key(flag: "redis")?.defaultValue == nil)
        #expect(table.key(flag: "allow-evicting-redis")?.kind == .flag)
        #expect(table.key(flag: "grpc-client-pings-without-calls")?.kind == .invertibleFlag)
        #expect(table.key(flag: "allow-evicting-redis")?.defaultValue == "false")
        #expect(table.key(flag: "grpc-client-pings-without-calls")?.defaultValue == "true")
        let namespace = try #require(table.key(flag: "redis-namespace"))
        #expect(namespace.flagAliases == ["namespace"])
        #expect(namespace.fileKeys == ["redis_namespace", "namespace"])
        #expect(namespace.environmentNames == ["BATON_REDIS_NAMESPACE", "BATON_NAMESPACE"])
        #expect(table.key(flag: "namespace")?.flag == "redis-namespace", "the older name finds the key")
        #expect(table.key(fileKey: "namespace")?.flag == "redis-namespace")
    }
}

@Suite struct ConfigurationPrecedenceTests {
    @Test func defaultsHoldWithoutSources() throws {
        let (options, effective) = try parse()
        #expect(options.grpcPort == 9090)
        #expect(effective.origin(of: "grpc-port") == .default)
    }

    @Test func fileUnderEnvironmentUnderFlag() throws {
        let file = "grpc_port: 9100\napi_mysql_connections: 20\nroles: [api, worker]\n"
        var (options, effective) = try parse(file: file)
        #expect(options.grpcPort == 9100)
        #expect(options.apiMySQLConnections == 20)
        #expect(options.roles == "api,worker")
        #expect(effective.origin(of: "grpc-port") == .file("baton.yaml"))

        (options, effective) = try parse(environment: ["BATON_GRPC_PORT": "9200"], file: file)
        #expect(options.grpcPort == 9200)
        #expect(options.apiMySQLConnections == 20, "the file still gives what the environment does not")
        #expect(effective.origin(of: "grpc-port") == .environment("BATON_GRPC_PORT"))

        (options, effective) = try parse(["--grpc-port", "9300"], environment: ["BATON_GRPC_PORT": "9200"], file: file)
        #expect(options.grpcPort == 9300)
        #expect(effective.origin(of: "grpc-port") == .commandLine)
        (options, _) = try parse(["--grpc-port=9301"], environment: ["BATON_GRPC_PORT": "9200"], file: file)
        #expect(options.grpcPort == 9301)
    }

    @Test func anEmptyVariableIsUnsetAndAliasesWork() throws {
        var (options, _) = try parse(environment: ["BATON_GRPC_PORT": ""], file: "grpc_port: 9100")
        #expect(options.grpcPort == 9100)
        (options, _) = try parse(environment: ["REDIS_ADDR": "redis://old:6379"])
        #expect(options.redis == "redis://old:6379")
        (options, _) = try parse(environment: ["REDIS_ADDR": "redis://old:6379", "BATON_REDIS": "redis://new:6379"])
        #expect(options.redis == "redis://new:6379", "the derived name before the alias")
    }

    /// `--redis-namespace` (key `redis_namespace`, or `namespace:` under
    /// `redis:`, `BATON_REDIS_NAMESPACE`) and its older name `--namespace`
    /// (`namespace`, `BATON_NAMESPACE`): one setting, the new name first
    /// within each source, the sources in their usual order.
    @Test func anOlderFlagNameSetsTheSameSettingInTheSameOrder() throws {
        var (options, effective) = try parse(file: "namespace: old-file")
        #expect(options.namespace == "old-file")
        #expect(effective.origin(of: "redis-namespace") == .file("baton.yaml"))
        (options, _) = try parse(file: "redis:\n  namespace: nested\n")
        #expect(options.namespace == "nested")
        (options, _) = try parse(file: "namespace: old-file\nredis_namespace: new-file\n")
        #expect(options.namespace == "new-file", "the new key before the older one")

        (options, effective) = try parse(environment: ["BATON_NAMESPACE": "old-env"], file: "redis_namespace: new-file")
        #expect(options.namespace == "old-env", "a variable, even of the older name, over the file")
        #expect(effective.origin(of: "redis-namespace") == .environment("BATON_NAMESPACE"))
        (options, effective) = try parse(environment: ["BATON_NAMESPACE": "old-env", "BATON_REDIS_NAMESPACE": "new-env"])
        #expect(options.namespace == "new-env")
        #expect(effective.origin(of: "redis-namespace") == .environment("BATON_REDIS_NAMESPACE"))

        (options, effective) = try parse(["--namespace", "old-flag"], environment: ["BATON_REDIS_NAMESPACE": "new-env"])
        #expect(options.namespace == "old-flag", "the older flag over a variable")
        #expect(effective.origin(of: "redis-namespace") == .commandLine)
        (options, effective) = try parse(["--namespace=old-flag", "--redis-namespace", "new-flag"])
        #expect(options.namespace == "new-flag", "the last flag given, as the parser takes it")
        #expect(effective.origin(of: "redis-namespace") == .commandLine)
        #expect(effective.yaml().contains("redis_namespace: new-flag  # flag"))
    }

    @Test func switchesFollowTheSameOrder() throws {
        var (options, _) = try parse(file: "allow_evicting_redis: true\ngrpc_client_pings_without_calls: false")
        #expect(options.allowEvictingRedis)
        #expect(!options.grpcClientPingsWithoutCalls)
        // The environment turns off what the file turned on.
        (options, _) = try parse(environment: ["BATON_ALLOW_EVICTING_REDIS": "false"], file: "allow_evicting_redis: true")
        #expect(!options.allowEvictingRedis)
        // A flag turns back on what the environment turned off.
        (options, _) = try parse(["--grpc-client-pings-without-calls"], environment: ["BATON_GRPC_CLIENT_PINGS_WITHOUT_CALLS": "no"])
        #expect(options.grpcClientPingsWithoutCalls)
        #expect(throws: ConfigurationKey.ValueError.self) { try parse(environment: ["BATON_ALLOW_EVICTING_REDIS": "maybe"]) }
    }

    @Test func nestedMappingsJoinTheirKeys() throws {
        let (options, _) = try parse(file: "grpc:\n  port: 9400\napi:\n  mysql-connections: 8\nredis: null\n")
        #expect(options.grpcPort == 9400)
        #expect(options.apiMySQLConnections == 8)
        #expect(options.redis == nil)
    }

    @Test func anUnknownFileKeyIsAnErrorNamingIt() throws {
        let error = #expect(throws: ConfigurationFile.ReadError.self) { try parse(file: "grpc_prot: 9100") }
        #expect(error?.description.contains("unknown key grpc_prot") == true)
        #expect(throws: ConfigurationFile.ReadError.self) { try parse(file: "- a list") }
        #expect(throws: ConfigurationFile.ReadError.self) { try parse(file: "grpc_port: [9100\n") }
    }

    @Test func aBadValueFromTheEnvironmentSaysWhereItCameFrom() throws {
        let effective = try ConfigurationSources.resolve(table: table, commandLine: [], environment: ["BATON_GRPC_PORT": "x"], file: nil)
        let message = "The value 'x' is invalid for '--grpc-port <grpc-port>'"
        #expect(effective.naming(message).hasSuffix("(set by BATON_GRPC_PORT)"))
    }
}

@Suite struct ConfigurationPrintTests {
    @Test func printedConfigurationRedactsURLPasswords() throws {
        let (_, effective) = try parse(environment: ["REDIS_ADDR": "redis://:s3cret-pass@cache:6379/2"])
        let yaml = effective.yaml(computed: ["roles": "unused"])
        #expect(!yaml.contains("s3cret-pass"))
        #expect(yaml.contains("redis: \"redis://:REDACTED@cache:6379/2\"  # env REDIS_ADDR"))
        #expect(yaml.contains("grpc_port: 9090  # default"))
        #expect(yaml.contains("allow_evicting_redis: false  # default"))
        #expect(yaml.contains("grpc_client_pings_without_calls: true  # default"))
    }

    @Test func computedDefaultsAreRedactedToo() throws {
        let (_, effective) = try parse()
        let yaml = effective.yaml(computed: ["redis": "redis://user:pw@host:1"])
        #expect(yaml.contains("redis: \"redis://user:REDACTED@host:1\"  # default"))
    }

    @Test func redaction() {
        #expect(SecretRedaction.redacted("mysql://baton:p@ss:w0rd@db:3306/baton") == "mysql://baton:REDACTED@db:3306/baton")
        #expect(SecretRedaction.redacted("redis://:pw@h:1") == "redis://:REDACTED@h:1")
        #expect(SecretRedaction.redacted("redis://h:6379") == "redis://h:6379")
        #expect(SecretRedaction.redacted("mysql://user@h/db") == "mysql://user@h/db")
        #expect(SecretRedaction.redacted("https://h/a@b:c") == "https://h/a@b:c", "an @ in the path is no userinfo")
        #expect(SecretRedaction.redacted("plain") == "plain")
        #expect(
            SecretRedaction.redacted("sentinel://:pw@h:1,h:2/main?db=2&sentinel_password=s3&sentinel_user=u")
                == "sentinel://:REDACTED@h:1,h:2/main?db=2&sentinel_password=REDACTED&sentinel_user=u"
        )
    }

    @Test func printedYAMLReadsBackAsTheSameSettings() throws {
        let (_, effective) = try parse(["--roles", "api,worker", "--redis", "redis://h:1/2"], environment: ["BATON_GRPC_PORT": "9500"])
        let file = try ConfigurationFile(path: "printed.yaml", text: effective.yaml(), table: table)
        #expect(file.values["roles"] == "api,worker")
        #expect(file.values["grpc_port"] == "9500")
        #expect(file.values["redis"] == "redis://h:1/2")
    }
}

@Suite struct NodeRolesTests {
    @Test func parsing() throws {
        #expect(try NodeRoles(parsing: "api,scheduler,worker") == .all)
        #expect(try NodeRoles(parsing: "worker") == [.worker])
        #expect(try NodeRoles(parsing: " worker , api ") == [.api, .worker])
        #expect(NodeRoles([.worker, .api]).description == "api,worker")
        #expect(throws: NodeRoles.ParseError.self) { try NodeRoles(parsing: "") }
        #expect(throws: NodeRoles.ParseError.self) { try NodeRoles(parsing: "api,leader") }
    }
}

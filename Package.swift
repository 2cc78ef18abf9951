// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "baton",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "BatonRedis", targets: ["BatonRedis"]),
        .library(name: "BatonMySQL", targets: ["BatonMySQL"]),
        .executable(name: "baton-node", targets: ["BatonNode"]),
        .executable(name: "baton-client", targets: ["BatonClientCLI"]),
        .library(name: "BatonClient", targets: ["BatonClient"]),
        // A node in a package of your own: its assembly, the executor registry, handlers.
        .library(name: "BatonKit", targets: ["BatonKit"]),
        .executable(name: "baton-bench", targets: ["BatonBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // Already in the graph through AsyncHTTPClient and gRPC; named for the executors' TLS roots.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Already in the graph through Hummingbird; named for the HTTP limits' handlers.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        // No default traits (BinaryDelimitedStreams, FieldMaskUtilities: unused,
        // and grpc-swift-protobuf opts out too). SwiftPM 6.3 passes two or more
        // enabled traits as -D flags in a per-process random order, so every
        // other `swift build` recompiled SwiftProtobuf (~40 s in release) with
        // nothing changed (swiftlang/swift-package-manager#10525).
        // swift-otel (below) asks for the default traits, so SwiftProtobuf now
        // builds with both; seven no-change builds after it (debug and release)
        // recompiled nothing, but watch for #10525 coming back.
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0", traits: []),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // JWT bearer tokens (HS256, RS256, ES256) for both APIs.
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        // The HTTP port (REST, dashboard, /health, /metrics). No default
        // traits: swift-configuration support is not used.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        // The node's --config file (YAML). Yams alone, not swift-configuration:
        // see BatonConfig and docs/operations.md → The configuration file.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        // Spans (`Tracer`): already in the graph through Hummingbird and AsyncHTTPClient.
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // The OTLP exporter behind `--otel-endpoint`, in BatonKit only. One trait,
        // OTLP/HTTP (AsyncHTTPClient and SwiftProtobuf are in the graph already);
        // OTLPGRPC would add nothing Baton needs, and two traits trip
        // swiftlang/swift-package-manager#10525 (see swift-protobuf above).
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // C libraries, reached through pkg-config.
        .systemLibrary(
            name: "CHiredis",
            // No pkg-config: its flags carry -D_FILE_OFFSET_BITS=64, which
            // SwiftPM refuses with a warning on every build (a no-op on
            // 64-bit Linux); the shim includes <hiredis/hiredis.h>.
            providers: [.apt(["libhiredis-dev"])]
        ),
        // System OpenSSL for rediss:// (hiredis 0.14 has no TLS): see
        // Sources/BatonRedis/TLSStream.swift and docs/operations.md → Redis over TLS.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CMariaDB",
            pkgConfig: "libmariadb",
            providers: [.apt(["libmariadb-dev"])]
        ),

        // A bounded pool of blocking connections on a dedicated thread pool.
        .target(
            name: "BatonPool",
            dependencies: [
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),

        // Swift clients over the C libraries.
        .target(
            name: "BatonRedis",
            dependencies: [
                "CHiredis",
                "COpenSSL",
                "BatonPool",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "BatonMySQL",
            dependencies: [
                "CMariaDB",
                "BatonPool",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Generated protobuf and gRPC code (`make proto`), and the descriptor set for reflection.
        .target(
            name: "BatonProto",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),

        // Tasks, statuses, configuration and limits: pure values.
        .target(name: "BatonModel"),

        // Cron expressions and their fire times in a time zone (schedules): Foundation only.
        .target(name: "BatonCron"),

        // W3C trace context on a task: a `traceparent` to and from spans, on the
        // Tracing API alone (no exporter; a nil tracer when tracing is off).
        .target(
            name: "BatonTracing",
            dependencies: [
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),

        // Redis side of Baton: keys, Lua scripts, queues, the event stream.
        .target(
            name: "BatonBroker",
            dependencies: [
                "BatonModel",
                "BatonRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // MySQL side of Baton: tasks, logs, task types.
        .target(
            name: "BatonStore",
            dependencies: [
                "BatonModel",
                "BatonMySQL",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The leader: election with fencing, dispatch, delayed tasks, recovery.
        .target(
            name: "BatonScheduler",
            dependencies: [
                "BatonTracing",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                "BatonCron",
                .product(name: "Metrics", package: "swift-metrics"),
                "BatonModel",
                "BatonBroker",
                "BatonStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // The worker: heartbeats, consumption, executors, outcomes.
        .target(
            name: "BatonWorker",
            dependencies: [
                "BatonTracing",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Metrics", package: "swift-metrics"),
                "BatonModel",
                "BatonBroker",
                "BatonStore",
                "BatonProto",
                .product(name: "DequeModule", package: "swift-collections"),
                // The gRPC executor's ExecuteRequest.args (google.protobuf.Struct).
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Who is calling: API keys, JWT bearer tokens, callers and their roles
        // (both APIs authenticate through it).
        .target(
            name: "BatonAuth",
            dependencies: [
                "BatonModel",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ]
        ),

        // The API's operations on proto messages, under both the gRPC server and the
        // REST routes: tasks, schedules, task types, health, statistics. No server
        // here: RPCError (GRPCCore, which BatonProto's messages bring anyway) is its
        // error vocabulary, which each API maps to its own statuses.
        .target(
            name: "BatonService",
            dependencies: [
                "BatonTracing",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                "BatonAuth",
                "BatonCron",
                "BatonModel",
                "BatonProto",
                "BatonBroker",
                "BatonStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // The gRPC server: TaskService and AdminService handlers on the service
        // layer, health, reflection, the auth and metrics interceptors, TLS and
        // the connection limits. No Hummingbird: it shares nothing with the HTTP port.
        .target(
            name: "BatonGRPC",
            dependencies: [
                "BatonTracing",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                "BatonAuth",
                "BatonService",
                "BatonModel",
                "BatonProto",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                // The connection cap and handshake deadline sit in the transport's pipeline.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // The node's HTTP server (Hummingbird) with its connection limits.
        .target(
            name: "BatonHTTP",
            dependencies: [
                "BatonModel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // The dashboard's files and the OpenAPI document, embedded (scripts/embed-web.py, `make web`).
        .target(name: "BatonWeb"),

        // The REST/JSON API and the dashboard's routes, on the services gRPC uses
        // (the service layer and authentication; not the gRPC server).
        .target(
            name: "BatonREST",
            dependencies: [
                "BatonTracing",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                "BatonService", "BatonAuth", "BatonModel", "BatonProto", "BatonHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Settings from a YAML file and the environment under the flags, keyed
        // by the flags' own names (a node's --config, --print-config).
        .target(
            name: "BatonConfig",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // One node assembly: the stores' pools, the worker, the leader's loops,
        // the APIs and the HTTP port, built from plain settings. `baton-node`,
        // the tests, the benchmarks and users' own worker packages start it.
        .target(
            name: "BatonKit",
            dependencies: [
                "BatonTracing",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                // The OTLP/HTTP exporter of --otel-endpoint.
                .product(name: "OTel", package: "swift-otel"),
                "BatonAuth", "BatonBroker", "BatonGRPC", "BatonHTTP", "BatonModel", "BatonMySQL", "BatonRedis", "BatonREST", "BatonService", "BatonWeb",
                "BatonScheduler", "BatonStore", "BatonWorker",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // The node binary: flags, config file and environment turned into a BatonKit node.
        .executableTarget(
            name: "BatonNode",
            dependencies: [
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                "BatonKit", "BatonAuth", "BatonBroker", "BatonGRPC", "BatonHTTP", "BatonService", "BatonModel", "BatonMySQL", "BatonRedis",
                "BatonScheduler", "BatonStore", "BatonWorker", "BatonConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),

        // A client library, and the client test program / CLI on it.
        .target(
            name: "BatonClient",
            dependencies: [
                "BatonProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ]
        ),
        .executableTarget(
            name: "BatonClientCLI",
            dependencies: [
                "BatonClient", "BatonProto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),

        // Benchmarks (release build).
        .executableTarget(
            name: "BatonBench",
            dependencies: [
                "BatonClient",
                "BatonKit",
                "BatonScheduler",
                "BatonWorker",
                "BatonRedis",
                "BatonMySQL",
                "BatonService",
                "BatonAuth",
                "BatonBroker",
                "BatonModel",
                "BatonStore",
                "BatonProto",
                "BatonTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),

        // Test helpers: server locations, scripts, waiting for conditions.
        .target(name: "BatonTestSupport", path: "Sources/BatonTestSupport"),

        .testTarget(name: "BatonRedisTests", dependencies: ["BatonRedis", "BatonTestSupport"]),
        .testTarget(name: "BatonMySQLTests", dependencies: ["BatonMySQL", "BatonTestSupport"]),
        // Fixtures/cron-fixture.json is generated by scripts/cron-fixture.py (croniter) and read
        // by path, so no resource bundle is needed.
        .testTarget(name: "BatonCronTests", dependencies: ["BatonCron"], exclude: ["Fixtures"]),
        .testTarget(
            name: "BatonConfigTests",
            dependencies: ["BatonConfig", "BatonModel", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(
            name: "BatonClusterTests",
            dependencies: [
                "BatonKit", "BatonScheduler", "BatonWorker", "BatonBroker", "BatonModel", "BatonStore", "BatonTestSupport", "BatonHTTP", "BatonProto",
                // Bulk calls racing a live dispatcher and worker.
                "BatonService", "BatonAuth",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "BatonEndToEndTests",
            dependencies: [
                "BatonClient", "BatonProto", "BatonBroker", "BatonRedis", "BatonTestSupport", "BatonHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BatonAPITests",
            dependencies: [
                "BatonKit", "BatonService", "BatonGRPC", "BatonAuth", "BatonBroker", "BatonModel", "BatonStore", "BatonProto", "BatonTestSupport", "BatonWorker", "BatonClient", "BatonREST",
                .product(name: "Crypto", package: "swift-crypto"),
                // RSA keys for the JWT tests.
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

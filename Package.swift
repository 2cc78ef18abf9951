// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "baton",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "BatonRedis", targets: ["BatonRedis"]),
        .library(name: "BatonMySQL", targets: ["BatonMySQL"]),
        .executable(name: "baton-bench", targets: ["BatonBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // C libraries, reached through pkg-config.
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
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

        // Benchmarks (release build).
        .executableTarget(
            name: "BatonBench",
            dependencies: [
                "BatonRedis",
                "BatonMySQL",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Test helpers: server locations, scripts, waiting for conditions.
        .target(name: "BatonTestSupport", path: "Sources/BatonTestSupport"),

        .testTarget(name: "BatonRedisTests", dependencies: ["BatonRedis", "BatonTestSupport"]),
        .testTarget(name: "BatonMySQLTests", dependencies: ["BatonMySQL", "BatonTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

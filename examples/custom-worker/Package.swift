// swift-tools-version:6.1
// A worker of your own: Baton as a library. Depends on the checkout by
// path; in your own package name the repository instead:
//   .package(url: "https://github.com/<you>/baton.git", from: "…")
import PackageDescription

let package = Package(
    name: "custom-worker",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "baton", path: "../.."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "CustomWorker",
            dependencies: [
                .product(name: "BatonKit", package: "baton"),
                .product(name: "Logging", package: "swift-log"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)

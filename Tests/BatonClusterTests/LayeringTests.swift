import BatonTestSupport
import Foundation
import XCTest

/// Only the broker and the stores speak to Redis and MySQL (BatonKit and the
/// binaries open the pools): every module above them sees `BrokerError`,
/// `StoreError` and the broker's own objects, never a driver. And the two
/// APIs stand side by side on the service layer and authentication: the gRPC
/// server carries no HTTP server (Hummingbird), REST no gRPC server. Reads the
/// sources, so an import that creeps back fails here, not in a review.
final class LayeringTests: XCTestCase {
    private static let aboveTheStores = ["BatonAuth", "BatonCron", "BatonGRPC", "BatonHTTP", "BatonModel", "BatonREST", "BatonScheduler", "BatonService", "BatonWeb", "BatonWorker"]
    private static let drivers = ["BatonMySQL", "BatonPool", "BatonRedis", "CHiredis", "CMariaDB"]

    /// The HTTP port's server and what stands on it.
    private static let httpServer = ["BatonHTTP", "BatonREST", "BatonWeb", "Hummingbird", "HummingbirdCore", "HummingbirdHTTP2", "HummingbirdTLS"]
    /// The gRPC server and its transport (GRPCCore alone is not one: its
    /// RPCError is the service layer's error vocabulary, which REST maps).
    private static let grpcServer = ["BatonGRPC", "GRPCNIOTransportCore", "GRPCNIOTransportHTTP2", "GRPCNIOTransportHTTP2Posix"]

    func testNoModuleAboveTheStoresImportsADriver() throws {
        var checked = 0
        var offending: [String] = []
        for module in Self.aboveTheStores {
            try Self.forEachImport(in: module) { file, line, imported in
                checked += 1
                if Self.drivers.contains(imported) { offending.append("\(module)/\(file): \(line)") }
            }
        }
        XCTAssertGreaterThan(checked, 50, "the sources were not found")
        XCTAssertEqual(offending, [], "a module above the broker and the stores imports a driver")
    }

    /// The gRPC server, and the service layer and authentication under both
    /// APIs, import no HTTP server; REST and the layers under it no gRPC
    /// server. Package.swift is read too: a dependency declared but not yet
    /// imported still links the other server in.
    func testTheAPIsShareOnlyTheServiceLayerAndAuthentication() throws {
        let rules: [(module: String, forbidden: [String])] = [
            ("BatonGRPC", Self.httpServer),
            ("BatonService", Self.httpServer + Self.grpcServer),
            ("BatonAuth", Self.httpServer + Self.grpcServer),
            ("BatonREST", Self.grpcServer),
        ]
        let manifest = try String(contentsOf: TestEnvironment.repositoryRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        var checked = 0
        var offending: [String] = []
        for (module, forbidden) in rules {
            try Self.forEachImport(in: module) { file, line, imported in
                checked += 1
                if forbidden.contains(imported) { offending.append("\(module)/\(file): \(line)") }
            }
            let dependencies = try XCTUnwrap(Self.declaredDependencies(of: module, in: manifest), "\(module) is not in Package.swift")
            for name in forbidden where dependencies.contains("\"\(name)\"") {
                offending.append("Package.swift: \(module) depends on \(name)")
            }
        }
        XCTAssertGreaterThan(checked, 30, "the sources were not found")
        XCTAssertEqual(offending, [], "one API's server reaches into the other's")
    }

    /// The worker sees the broker and the store through what it asks of
    /// them (`WorkerBroker`, `WorkerInbox`, `AttemptStore`), so its pipeline
    /// runs on in-memory ones (`WorkerLogicTests`); BatonKit builds the real
    /// ones. Comments may name them.
    func testTheWorkerNamesNeitherTheRedisBrokerNorTheTaskStore() throws {
        var checked = 0
        var offending: [String] = []
        try Self.forEachLine(in: "BatonWorker") { file, line in
            checked += 1
            let code = line.components(separatedBy: "//")[0]
            if code.contains(/\b(RedisBroker|TaskStore)\b/) { offending.append("BatonWorker/\(file): \(line)") }
        }
        XCTAssertGreaterThan(checked, 1000, "the sources were not found")
        XCTAssertEqual(offending, [], "the worker names a concrete broker or store")
    }

    func testTheManifestReadingFindsATargetsOwnDependencies() throws {
        let manifest = """
            .target(
                name: "A",
                dependencies: ["B", .product(name: "Hummingbird", package: "hummingbird")]
            ),
            .target(name: "C", dependencies: ["BatonHTTP"]),
            """
        let a = try XCTUnwrap(Self.declaredDependencies(of: "A", in: manifest))
        XCTAssertTrue(a.contains("\"Hummingbird\""))
        XCTAssertFalse(a.contains("\"BatonHTTP\""), "the next target's list is not A's")
        XCTAssertNil(Self.declaredDependencies(of: "B", in: manifest))
    }

    func testTheCheckSeesEveryFormOfImport() {
        XCTAssertTrue(Self.importsADriver("import BatonRedis"))
        XCTAssertTrue(Self.importsADriver("@preconcurrency import BatonMySQL"))
        XCTAssertTrue(Self.importsADriver("internal import BatonPool"))
        XCTAssertTrue(Self.importsADriver("import struct BatonRedis.RedisError"))
        XCTAssertFalse(Self.importsADriver("import BatonBroker"))
        XCTAssertFalse(Self.importsADriver("// import BatonRedis"))
    }

    private static func importsADriver(_ line: Substring) -> Bool {
        self.importedModule(line).map { self.drivers.contains($0) } ?? false
    }

    /// The module an import line names; nil for any other line.
    private static func importedModule(_ line: Substring) -> String? {
        let words = line.split(whereSeparator: \.isWhitespace)
        guard let at = words.firstIndex(of: "import"), words[..<at].allSatisfy({ !$0.hasPrefix("//") }), at + 1 < words.count else { return nil }
        // `import struct Module.Type` names the module after the kind.
        let named = words[(at + 1)...].first { !["struct", "class", "enum", "protocol", "func", "var", "let", "typealias"].contains($0) } ?? ""
        return String(named.split(separator: ".").first ?? "")
    }

    /// Calls `body` with every import of the module's sources: file, line, module imported.
    private static func forEachImport(in module: String, _ body: (String, Substring, String) -> Void) throws {
        try self.forEachLine(in: module) { file, line in
            if let imported = self.importedModule(line) { body(file, line, imported) }
        }
    }

    /// Calls `body` with every line of the module's sources: file, line.
    private static func forEachLine(in module: String, _ body: (String, Substring) -> Void) throws {
        let directory = TestEnvironment.repositoryRoot.appendingPathComponent("Sources").appendingPathComponent(module)
        let files = try FileManager.default.subpathsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".swift") }
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") { body(file, line) }
        }
    }

    /// The text of a target's declaration in Package.swift, from its name to
    /// the next target: its dependency list with the comments among it.
    private static func declaredDependencies(of target: String, in manifest: String) -> Substring? {
        guard let name = manifest.range(of: "name: \"\(target)\"") else { return nil }
        let rest = manifest[name.upperBound...]
        let next = [".target(", ".executableTarget(", ".testTarget(", ".systemLibrary("].compactMap { rest.range(of: $0)?.lowerBound }.min() ?? rest.endIndex
        return rest[..<next]
    }
}

import BatonTestSupport
import Foundation
import XCTest

/// Only the broker and the stores speak to Redis and MySQL (BatonKit and the
/// binaries open the pools): every module above them sees `BrokerError`,
/// `StoreError` and the broker's own objects, never a driver. Reads the
/// sources, so an import that creeps back fails here, not in a review.
final class LayeringTests: XCTestCase {
    private static let aboveTheStores = ["BatonAPI", "BatonCron", "BatonHTTP", "BatonModel", "BatonREST", "BatonScheduler", "BatonWeb", "BatonWorker"]
    private static let drivers = ["BatonMySQL", "BatonPool", "BatonRedis", "CHiredis", "CMariaDB"]

    func testNoModuleAboveTheStoresImportsADriver() throws {
        let sources = TestEnvironment.repositoryRoot.appendingPathComponent("Sources")
        var checked = 0
        var offending: [String] = []
        for module in Self.aboveTheStores {
            let directory = sources.appendingPathComponent(module)
            let files = try FileManager.default.subpathsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".swift") }
            for file in files {
                let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
                checked += 1
                for line in text.split(separator: "\n") where Self.importsADriver(line) {
                    offending.append("\(module)/\(file): \(line)")
                }
            }
        }
        XCTAssertGreaterThan(checked, 50, "the sources were not found")
        XCTAssertEqual(offending, [], "a module above the broker and the stores imports a driver")
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
        let words = line.split(whereSeparator: \.isWhitespace)
        guard let at = words.firstIndex(of: "import"), words[..<at].allSatisfy({ !$0.hasPrefix("//") }), at + 1 < words.count else { return false }
        // `import struct Module.Type` names the module after the kind.
        let named = words[(at + 1)...].first { !["struct", "class", "enum", "protocol", "func", "var", "let", "typealias"].contains($0) } ?? ""
        return self.drivers.contains(String(named.split(separator: ".").first ?? ""))
    }
}

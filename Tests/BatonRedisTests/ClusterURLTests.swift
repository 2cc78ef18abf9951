import BatonRedis
import XCTest

/// `redis-cluster://` URLs: seeds, credentials, no database but 0.
final class ClusterURLTests: XCTestCase {
    func testClusterURLs() throws {
        let configuration = try RedisConfiguration(url: "redis-cluster://user:secret@10.0.0.1:7000,10.0.0.2")
        XCTAssertEqual(configuration.username, "user")
        XCTAssertEqual(configuration.password, "secret")
        XCTAssertEqual(configuration.cluster?.url.seeds.map(\.description), ["10.0.0.1:7000", "10.0.0.2:6379"])
        XCTAssertEqual(configuration.redacted, "redis-cluster://user:REDACTED@10.0.0.1:7000,10.0.0.2:6379")
        XCTAssertNoThrow(try RedisConfiguration(url: "redis-cluster://h:1/0"))
        for bad in ["redis-cluster://h:1/3", "redis-cluster://h:1?db=1"] {
            XCTAssertThrowsError(try RedisConfiguration(url: bad), bad)
        }
    }
}

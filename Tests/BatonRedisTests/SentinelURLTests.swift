import BatonPool
@testable import BatonRedis
import Testing

/// `sentinel://` URLs: what they name, what they refuse, and that no
/// password survives into their printed form.
struct SentinelURLTests {
    @Test func fullURL() throws {
        let url = try SentinelURL("sentinel://:s%40cret@10.0.0.1:26380,[::1]:26381,sentinel-c/main?db=3&sentinel_password=other&sentinel_user=watcher")
        #expect(url.sentinels == [.init(host: "10.0.0.1", port: 26380), .init(host: "::1", port: 26381), .init(host: "sentinel-c", port: 26379)])
        #expect(url.masterName == "main")
        #expect(url.username == nil)
        #expect(url.password == "s@cret")
        #expect(url.database == 3)
        #expect(url.sentinelUsername == "watcher")
        #expect(url.sentinelPassword == "other")
    }

    @Test func credentialsReadAsInRedisURLs() throws {
        let lone = try SentinelURL("sentinel://secret@h/m")
        #expect(lone.username == nil && lone.password == "secret", "a lone userinfo is the password, as redis-cli reads it")
        let acl = try SentinelURL("sentinel://app:pw@h:1/m")
        #expect(acl.username == "app" && acl.password == "pw")
        let none = try SentinelURL("sentinel://h1:1,h2:2/m")
        #expect(none.password == nil && none.sentinelPassword == nil && none.database == 0)
    }

    @Test(arguments: [
        "sentinel://h:1",  // no master name
        "sentinel://h:1/",  // empty master name
        "sentinel://h:1/a/b",  // a path is no master name
        "sentinel://h:1,/m",  // an empty host
        "sentinel://h:99999/m",  // a port out of range
        "sentinel://h:1/m?db=x",  // a database that is not a number
        "sentinel://h:1/m?sentinel_pasword=x",  // a misspelt parameter must not connect without auth
        "redis://h:1/m",
    ])
    func refused(_ text: String) {
        #expect(throws: RedisError.self) { try SentinelURL(text) }
    }

    @Test func printedFormCarriesNoPassword() throws {
        let url = try SentinelURL("sentinel://app:pw-1@h:1,h:2/main?db=2&sentinel_password=pw-2&sentinel_user=w")
        #expect(url.description == "sentinel://app:REDACTED@h:1,h:2/main?db=2&sentinel_user=w&sentinel_password=REDACTED")
        let lone = try SentinelURL("sentinel://pw-3@h/main")
        #expect(lone.description == "sentinel://:REDACTED@h:26379/main")
        let configuration = try RedisConfiguration(url: "sentinel://:pw-4@h:1/main?sentinel_password=pw-5")
        #expect(configuration.redacted == "sentinel://:REDACTED@h:1/main?sentinel_password=REDACTED")
        for text in [url.description, lone.description, configuration.redacted] {
            #expect(!text.contains("pw-"))
        }
    }

    @Test func redisConfigurationTakesBothSchemes() throws {
        let sentinel = try RedisConfiguration(url: "sentinel://:pw@a:1,b:2/main?db=4")
        #expect(sentinel.sentinel?.url.masterName == "main")
        #expect(sentinel.password == "pw" && sentinel.database == 4)
        let direct = try RedisConfiguration(url: "redis://:pw@a:1/4")
        #expect(direct.sentinel == nil)
        #expect(direct.redacted == "redis://a:1/4")
        #expect(throws: RedisError.self, "several hosts need sentinel://") { try RedisConfiguration(url: "redis://a:1,b:2") }
    }

    @Test func copiesShareOneResolver() throws {
        let configuration = try RedisConfiguration(url: "sentinel://a:1/main")
        var copy = configuration
        copy.maxConnections = 2
        #expect(copy.sentinel === configuration.sentinel, "a node's pools follow one master")
    }

    @Test func repliesThatMeanNotTheMaster() {
        #expect(RedisConnection.saysNotMaster("READONLY You can't write against a read only replica."))
        #expect(RedisConnection.saysNotMaster("ERR Error running script (call to f_x): @user_script:1: READONLY You can't write against a read only replica."))
        #expect(RedisConnection.saysNotMaster("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."))
        #expect(RedisConnection.saysNotMaster("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"))
        #expect(!RedisConnection.saysNotMaster("ERR wrong number of arguments"))
        #expect(!RedisConnection.saysNotMaster("NOSCRIPT No matching script."))
        #expect(!RedisConnection.saysNotMaster("UNBLOCKED client unblocked via CLIENT UNBLOCK"))
    }
}

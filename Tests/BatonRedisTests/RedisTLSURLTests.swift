@testable import BatonRedis
import Testing

/// `rediss://` and `sentinels://`: what turns TLS on, which parameters tune
/// it, and which mistakes are refused rather than connecting in clear.
struct RedisTLSURLTests {
    @Test func redissCarriesItsFiles() throws {
        let configuration = try RedisConfiguration(url: "rediss://app:pw@redis.example:6380/2?ca=/etc/ca.pem&cert=/c.pem&key=/c.key&server_name=r.example")
        #expect(configuration.tls == RedisTLS(caFile: "/etc/ca.pem", certificateFile: "/c.pem", keyFile: "/c.key", serverName: "r.example"))
        #expect(configuration.host == "redis.example" && configuration.port == 6380 && configuration.database == 2)
        #expect(configuration.username == "app" && configuration.password == "pw")
        #expect(configuration.redacted == "rediss://redis.example:6380/2?ca=/etc/ca.pem&cert=/c.pem&key=/c.key&server_name=r.example")
        let bare = try RedisConfiguration(url: "rediss://h")
        #expect(bare.tls == RedisTLS(), "no ca= trusts the system's roots")
        #expect(try RedisConfiguration(url: "redis://h").tls == nil)
    }

    @Test(arguments: [
        "redis://h?ca=/ca.pem",  // TLS parameters on a plain URL: refused, never silently plain
        "rediss://h?cert=/c.pem",  // a certificate without its key
        "rediss://h?key=/c.key",
        "rediss://h?ca=",  // an empty path
        "rediss://h?cafile=/ca.pem",  // a misspelt parameter
        "rediss://h:1,h:2",  // one server
        "sentinel://h/m?ca=/ca.pem",  // TLS parameters on a plain Sentinel URL
    ])
    func refused(_ text: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: text) }
    }

    @Test func plainURLSaysWhichSchemeTurnsTLSOn() {
        #expect {
            try RedisConfiguration(url: "redis://h?ca=/ca.pem")
        } throws: { error in
            (error as? RedisError)?.message.contains("rediss://") == true
        }
    }

    @Test func sentinelsSpeaksTLSToSentinelsAndMaster() throws {
        let configuration = try RedisConfiguration(url: "sentinels://:pw@a:1,b:2/main?db=3&sentinel_password=sp&ca=/ca.pem")
        #expect(configuration.tls == RedisTLS(caFile: "/ca.pem"))
        #expect(configuration.sentinel?.url.tls == RedisTLS(caFile: "/ca.pem"))
        #expect(configuration.database == 3)
        #expect(configuration.redacted == "sentinels://:REDACTED@a:1,b:2/main?db=3&sentinel_password=REDACTED&ca=/ca.pem")
        #expect(try RedisConfiguration(url: "sentinel://a:1/main").tls == nil)
    }
}

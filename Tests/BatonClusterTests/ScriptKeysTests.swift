import BatonBroker
import BatonTestSupport
import Foundation
import XCTest

/// Every key a broker script touches comes from KEYS (issue #29): a Redis
/// Cluster routes a script by its declared keys, and Redis 7 does not refuse
/// an undeclared key of the slot the script runs in, so a script that builds
/// a key runs everywhere and only this check fails (docs/redis.md, "Scripts
/// and KEYS"). Reads the scripts, needs no server.
final class ScriptKeysTests: XCTestCase {
    func testEveryKeyAScriptTouchesIsDeclared() {
        var violations: [String] = []
        for script in BrokerScripts.all {
            violations += LuaKeyTracer(script.source).violations().map { "\(script.name): \($0)" }
        }
        XCTAssertEqual(violations, [], "keys a script builds or finds instead of getting them in KEYS:\n" + violations.joined(separator: "\n"))
    }

    /// A script missing from `BrokerScripts.all` would escape the check above.
    func testAllHoldsEveryScript() throws {
        let file = try String(
            contentsOf: TestEnvironment.repositoryRoot.appendingPathComponent("Sources/BatonBroker/BrokerScripts.swift"), encoding: .utf8
        )
        let declared = file.matches(of: /static let \w+ = RedisScript\(\s*name: "([^"]+)"/).map { String($0.output.1) }
        XCTAssertGreaterThan(declared.count, 20, "the scripts were not found")
        XCTAssertEqual(Set(BrokerScripts.all.map(\.name)), Set(declared))
        XCTAssertEqual(BrokerScripts.all.count, declared.count)
    }

    /// The tracer fails each way a key can be built or found, and passes keys
    /// that come from KEYS however they travel.
    func testTheTracerTellsABuiltKeyFromADeclaredOne() {
        let built = [
            "redis.call('LLEN', ARGV[1] .. ':queue')",
            "redis.call('GET', ARGV[1])",
            "local base = ARGV[2] .. ':worker:' .. id\nredis.call('HMGET', base, 'capacity')",
            "w.queue, w.high = base .. ':queue', KEYS[2]\nredis.call('RPUSH', w.queue, 1)",
            "for _, t in ipairs(redis.call('SMEMBERS', KEYS[1])) do redis.call('LLEN', t) end",
            "local function f(key) return redis.call('GET', key) end\nf(KEYS[1])\nf(ARGV[1])",
            "if x then k = KEYS[1] else k = 'literal' end\nredis.call('DEL', KEYS[2], k)",
            "redis.call('LMOVE', KEYS[1], prefix .. ':inflight', 'LEFT', 'RIGHT')",
            "redis.call('OBJECT', 'ENCODING', KEYS[1])",
            "local lists = {}\ntable.insert(lists, KEYS[1])\ntable.insert(lists, ARGV[1] .. ':x')\nfor _, l in ipairs(lists) do redis.call('LLEN', l) end",
        ]
        for script in built {
            XCTAssertFalse(LuaKeyTracer(script).violations().isEmpty, "passed:\n\(script)")
        }
        let declared = [
            "local q = KEYS[3] -- a comment with '..'\nredis.call('LLEN', q)",
            "for _, key in ipairs({KEYS[1], KEYS[2]}) do redis.call('DEL', key) end",
            "local at = 4\nw.bell, w.count = KEYS[at + 1], 0\nredis.call('LPUSH', best.bell, 1)",
            "parked[ARGV[1]] = KEYS[2]\nfor t, list in pairs(parked) do redis.call('LLEN', list) end",
            "local function f(key) return redis.call('GET', key) end\nf(KEYS[1])",
            "redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)",
            "local lists = {}\ntable.insert(lists, KEYS[1])\nfor _, l in ipairs(lists) do redis.call('LLEN', l) end",
        ]
        for script in declared {
            XCTAssertEqual(LuaKeyTracer(script).violations(), [], "failed:\n\(script)")
        }
    }
}

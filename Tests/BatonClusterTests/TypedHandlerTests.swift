import BatonBroker
import BatonModel
import BatonTestSupport
import BatonWorker
import Foundation
import XCTest

/// Typed local handlers on a real worker: a Decodable input from a task's
/// args or its string payload, an Encodable output as its result, a decode
/// failure not retried; string-map handlers still see args (as strings).
final class TypedHandlerTests: XCTestCase {
    private var harness: WorkerHarness!

    override func setUp() async throws { self.harness = try await WorkerHarness(capacity: 4) }
    override func tearDown() async throws { try await self.harness.shutdown() }

    struct Charge: Decodable {
        var amount: Int
        var items: [Int]
    }

    struct Receipt: Encodable {
        var charged: Int
        var count: Int
        var attempt: Int
    }

    struct Greeting: Decodable {
        var name: String
        var times: String
    }

    private func finished(_ id: String) async throws -> TaskRecord {
        let harness = self.harness!
        _ = try await TestEnvironment.waitUntil(timeout: .seconds(15)) { try await harness.task(id).status.isTerminal }
        return try await harness.task(id)
    }

    private static func object(_ json: String?) throws -> NSDictionary {
        try JSONSerialization.jsonObject(with: Data((json ?? "").utf8)) as! NSDictionary
    }

    func testATypedHandlerDecodesArgsAndItsOutputIsTheResult() async throws {
        self.harness.registry.register("\(self.harness.base.prefix)_charge") { (args: Charge, context: ExecutionContext) async throws -> Receipt in
            Receipt(charged: args.amount, count: args.items.count, attempt: context.attempt)
        }
        let type = try await self.harness.type("charge", handler: "\(self.harness.base.prefix)_charge", retries: 2)
        let task = try await self.harness.create(type: type, args: #"{"amount":42,"items":[1,2]}"#)
        let done = try await self.finished(task.taskID)
        XCTAssertEqual(done.status, .succeeded, done.error ?? "")
        XCTAssertEqual(done.result, #"{"attempt":1,"charged":42,"count":2}"#)

        // Input that does not fit fails at once, naming the field, not retried.
        let wrong = try await self.harness.create(type: type, args: #"{"amount":"lots","items":[1]}"#)
        let failed = try await self.finished(wrong.taskID)
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.attempt, 1, "a decode failure is not retried")
        XCTAssertTrue(failed.error?.contains("amount") ?? false, failed.error ?? "")
        XCTAssertTrue(failed.error?.contains("Charge") ?? false, failed.error ?? "")
        let missing = try await self.finished(try await self.harness.create(type: type, args: #"{"amount":1}"#).taskID)
        XCTAssertEqual(missing.status, .failed)
        XCTAssertTrue(missing.error?.contains("missing key items") ?? false, missing.error ?? "")
    }

    func testAStringPayloadReachesATypedHandlerWithStringFields() async throws {
        let name = "\(self.harness.base.prefix)_greet"
        self.harness.registry.register(name) { (args: Greeting, _: ExecutionContext) async throws -> String in
            "hello \(args.name) x\(args.times)"
        }
        let type = try await self.harness.type("greet", handler: name)
        let fromPayload = try await self.finished(try await self.harness.create(type: type, payload: ["name": "ada", "times": "2"]).taskID)
        XCTAssertEqual(fromPayload.status, .succeeded, fromPayload.error ?? "")
        XCTAssertEqual(fromPayload.result, "hello ada x2", "a String output is the result as it is")
        let fromArgs = try await self.finished(try await self.harness.create(type: type, args: #"{"name":"bo","times":"3"}"#).taskID)
        XCTAssertEqual(fromArgs.result, "hello bo x3")
        let noKey = try await self.finished(try await self.harness.create(type: type, payload: ["name": "cy"]).taskID)
        XCTAssertEqual(noKey.status, .failed)
        XCTAssertTrue(noKey.error?.contains("payload") ?? false, noKey.error ?? "")
    }

    func testStringMapHandlersStillRunAndSeeArgsAsStrings() async throws {
        let name = "\(self.harness.base.prefix)_strings"
        self.harness.registry.register(name) { _, payload in StringMapJSON.encode(payload) }
        let type = try await self.harness.type("strings", handler: name)
        let done = try await self.finished(try await self.harness.create(type: type, args: #"{"amount":42,"items":[1,2],"to":"ops"}"#).taskID)
        XCTAssertEqual(done.status, .succeeded, done.error ?? "")
        XCTAssertEqual(try Self.object(done.result), ["amount": "42", "items": "[1,2]", "to": "ops"] as NSDictionary)
        let plain = try await self.finished(try await self.harness.create(type: type, payload: ["to": "ops"]).taskID)
        XCTAssertEqual(plain.result, #"{"to":"ops"}"#)

        // The built-in echo answers a task's args as they were sent.
        let echo = try await self.harness.type("echo", handler: "echo")
        let echoed = try await self.finished(try await self.harness.create(type: echo, args: #"{"amount":42,"items":[1,2]}"#).taskID)
        XCTAssertEqual(try Self.object(echoed.result), try Self.object(#"{"amount":42,"items":[1,2]}"#))
    }
}

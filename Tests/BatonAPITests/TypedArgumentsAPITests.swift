import BatonModel
import BatonProto
import BatonTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import XCTest

/// Typed arguments (`args`, a JSON object) over gRPC: stored in the payload
/// column as one document, returned by every read, carried by schedules;
/// bad ones refused with INVALID_ARGUMENT, nothing stored.
final class TypedArgumentsAPITests: XCTestCase {
    private var harness: APIHarness!

    override func setUp() async throws {
        self.harness = try await APIHarness()
    }

    override func tearDown() async throws {
        try await self.harness.deleteSchedules()
        try await self.harness.shutdown()
    }

    private static let charge = #"{"amount":42,"items":[1,2],"note":"x","express":true,"nested":{"ok":null}}"#

    private static func args(_ json: String) throws -> Google_Protobuf_Struct { try Google_Protobuf_Struct(jsonString: json) }

    /// The JSON object a Struct stands for, compared as Foundation reads it.
    private static func object(_ args: Google_Protobuf_Struct) throws -> NSDictionary {
        try JSONSerialization.jsonObject(with: Data(try args.jsonString().utf8)) as! NSDictionary
    }

    private static func object(_ json: String) throws -> NSDictionary {
        try JSONSerialization.jsonObject(with: Data(json.utf8)) as! NSDictionary
    }

    func testArgsCreatedOverGRPCAreStoredAndReturnedByEveryRead() async throws {
        let harness = self.harness!
        let type = try await harness.configure("charge")
        let args = try Self.args(Self.charge)
        let created = try await harness.withClient { tasks, _ in try await tasks.createTask(.with { $0.taskType = type; $0.args = args }) }
        XCTAssertTrue(created.task.hasArgs)
        XCTAssertEqual(try Self.object(created.task.args), try Self.object(Self.charge))
        XCTAssertTrue(created.task.payload.isEmpty)

        let id = created.task.taskID
        let got = try await harness.withClient { tasks, _ in try await tasks.getTask(.with { $0.taskID = id }) }
        XCTAssertEqual(try Self.object(got.task.args), try Self.object(Self.charge))
        let listed = try await harness.withClient { tasks, _ in try await tasks.listTasks(.with { $0.taskType = type }) }
        XCTAssertEqual(listed.tasks.count, 1)
        XCTAssertEqual(try Self.object(listed.tasks[0].args), try Self.object(Self.charge))

        // One document in the payload column, tagged so no string map reads as it.
        let rows = try await harness.mysql.query("SELECT payload FROM task WHERE task_id = ?", [.string(id)])
        let stored = rows.first?.string("payload") ?? ""
        // Integers as integers (what executors receive), keys sorted.
        XCTAssertEqual(stored, #"{"args":{"amount":42,"express":true,"items":[1,2],"nested":{"ok":null},"note":"x"}}"#)

        // A batch mixes both styles item by item; an empty args object is args too.
        let batch = try await harness.withClient { tasks, _ in
            try await tasks.batchCreateTasks(.with {
                $0.tasks = [
                    .with { $0.taskType = type; $0.args = args },
                    .with { $0.taskType = type; $0.payload = ["args": "a string map's own key", "amount": "42"] },
                    .with { $0.taskType = type; $0.args = Google_Protobuf_Struct() },
                ]
            })
        }
        XCTAssertEqual(try Self.object(batch.tasks[0].args), try Self.object(Self.charge))
        let plain = try await harness.withClient { tasks, _ in try await tasks.getTask(.with { $0.taskID = batch.tasks[1].taskID }) }.task
        XCTAssertFalse(plain.hasArgs, "a payload with a key named args stays a payload")
        XCTAssertEqual(plain.payload, ["args": "a string map's own key", "amount": "42"])
        let empty = try await harness.withClient { tasks, _ in try await tasks.getTask(.with { $0.taskID = batch.tasks[2].taskID }) }.task
        XCTAssertTrue(empty.hasArgs)
        XCTAssertTrue(empty.args.fields.isEmpty)
    }

    func testBadArgsAreInvalidArgumentAndStoreNothing() async throws {
        let harness = self.harness!
        let type = try await harness.configure("badargs")
        let big = Google_Protobuf_Struct(fields: ["big": Google_Protobuf_Value(stringValue: String(repeating: "x", count: 1 << 20))])
        let many = Google_Protobuf_Struct(fields: Dictionary(uniqueKeysWithValues: (0..<1025).map { ("k\($0)", Google_Protobuf_Value(numberValue: 1)) }))
        let cases: [(String, Baton_V1_CreateTaskRequest)] = [
            ("both", .with { $0.taskType = type; $0.payload = ["a": "1"]; $0.args = .init(fields: ["a": .init(numberValue: 1)]) }),
            ("oversize", .with { $0.taskType = type; $0.args = big }),
            ("keys", .with { $0.taskType = type; $0.args = many }),
            ("empty key", .with { $0.taskType = type; $0.args = .init(fields: ["": .init(numberValue: 1)]) }),
            ("NaN", .with { $0.taskType = type; $0.args = .init(fields: ["n": .init(numberValue: .nan)]) }),
            ("no kind", .with { $0.taskType = type; $0.args = .init(fields: ["n": Google_Protobuf_Value()]) }),
        ]
        for (name, request) in cases {
            let error = await XCTAssertThrowsRPC {
                _ = try await harness.withClient { tasks, _ in try await tasks.createTask(request) }
            }
            XCTAssertEqual(error?.code, .invalidArgument, name)
            XCTAssertTrue(error?.message.contains("args") ?? false, "\(name): \(error?.message ?? "")")
        }
        // A batch is all-or-nothing: one bad item refuses the others.
        let batch = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { tasks, _ in
                try await tasks.batchCreateTasks(.with { $0.tasks = [.with { $0.taskType = type; $0.args = .init(fields: ["a": .init(numberValue: 1)]) }, cases[0].1] })
            }
        }
        XCTAssertEqual(batch?.code, .invalidArgument)
        XCTAssertTrue(batch?.message.contains("tasks[1].args") ?? false, batch?.message ?? "")
        let rows = try await harness.mysql.query("SELECT COUNT(*) AS n FROM task WHERE task_type = ?", [.string(type)])
        XCTAssertEqual(rows.first?.int("n"), 0)
        let queued = try await harness.inspector.count(.queue(.normal))
        XCTAssertEqual(queued, 0)
    }

    func testSchedulesCarryArgsToTheirTasks() async throws {
        let harness = self.harness!
        let type = try await harness.configure("sched_args")
        let id = harness.taskType("args_nightly")
        let args = try Self.args(Self.charge)
        let put = Baton_V1_Schedule.with {
            $0.scheduleID = id
            $0.cron = "30 2 * * *"
            $0.taskType = type
            $0.args = args
        }
        let stored = try await harness.withClient { _, admin in try await admin.putSchedule(.with { $0.schedule = put }) }
        XCTAssertEqual(try Self.object(stored.args), try Self.object(Self.charge))
        XCTAssertTrue(stored.payload.isEmpty)
        let fetched = try await harness.withClient { _, admin in try await admin.getSchedule(.with { $0.scheduleID = id }) }
        XCTAssertEqual(try Self.object(fetched.args), try Self.object(Self.charge))

        let triggered = try await harness.withClient { _, admin in try await admin.triggerSchedule(.with { $0.scheduleID = id }) }
        XCTAssertEqual(try Self.object(triggered.task.args), try Self.object(Self.charge))
        let read = try await harness.withClient { tasks, _ in try await tasks.getTask(.with { $0.taskID = triggered.task.taskID }) }
        XCTAssertEqual(try Self.object(read.task.args), try Self.object(Self.charge))

        // Both on a schedule: refused, the stored one unchanged.
        let before = try await harness.withClient { _, admin in try await admin.getSchedule(.with { $0.scheduleID = id }) }
        let both = Baton_V1_Schedule.with {
            $0 = put
            $0.payload = ["report": "daily"]
        }
        let refused = await XCTAssertThrowsRPC {
            _ = try await harness.withClient { _, admin in try await admin.putSchedule(.with { $0.schedule = both }) }
        }
        XCTAssertEqual(refused?.code, .invalidArgument)
        XCTAssertTrue(refused?.message.contains("args") ?? false, refused?.message ?? "")
        let unchanged = try await harness.withClient { _, admin in try await admin.getSchedule(.with { $0.scheduleID = id }) }
        XCTAssertEqual(unchanged, before)
    }
}

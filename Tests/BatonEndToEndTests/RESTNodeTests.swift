import AsyncHTTPClient
import BatonClient
import BatonProto
import BatonTestSupport
import Foundation
import GRPCCore
import NIOCore
import NIOHTTP1
import XCTest

/// The REST/JSON API of a real `baton-node` with a key file: the gRPC API's
/// roles, tenants, validation and errors, over HTTP; a task reads the same in
/// both; its events stream until it is terminal; dead letters group and retry.
final class RESTNodeTests: XCTestCase {
    struct Reply {
        var status: Int
        var contentType: String
        var body: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(self.body.utf8))) as? [String: Any] ?? [:] }
        var code: String? { self.json["code"] as? String }
    }

    var node: WireNode!
    var keyFile = ""
    let secret = UUID().uuidString.prefix(12)
    var base: String { "http://127.0.0.1:\(self.node.httpPort)/api/v1" }

    override func setUp() async throws {
        self.keyFile = TestEnvironment.repositoryRoot.appendingPathComponent(".run/rest-keys-\(self.secret.prefix(8))").path
        try """
            ops admin admin-\(self.secret)
            ci submitter submit-\(self.secret)
            looker viewer view-\(self.secret)
            other-ci submitter other-\(self.secret) other
            """.write(toFile: self.keyFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: self.keyFile)
        self.node = try WireNode(arguments: ["--api-keys-file", self.keyFile])
        try await self.node.waitReady()
    }

    override func tearDown() async throws {
        self.node?.stop()
        try? FileManager.default.removeItem(atPath: self.keyFile)
    }

    func call(_ method: HTTPMethod, _ path: String, key: String?, json: String? = nil, headers extra: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: self.base + path)
        request.method = method
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)-\(self.secret)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        for (name, value) in extra { request.headers.replaceOrAdd(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 8 << 20)
        return Reply(status: Int(response.status.code), contentType: response.headers["Content-Type"].first ?? "", body: String(buffer: body))
    }

    func testRolesTenantsAndErrorsMatchGRPC() async throws {
        let type = "rest_\(self.node.id.suffix(8))"
        // `sleep` logs a line of its own: its attempt's lines are written (a quiet success writes none).
        let config = #"{"executor": "local", "endpoint": "sleep", "timeoutSeconds": 30, "enabled": true}"#
        // Authentication and roles, as problem+json with the gRPC code's name.
        var reply = try await self.call(.GET, "/stats", key: nil)
        XCTAssertEqual([reply.status, reply.code ?? ""] as [AnyHashable], [401, "UNAUTHENTICATED"])
        XCTAssertEqual(reply.contentType, "application/problem+json")
        reply = try await self.call(.GET, "/stats", key: "wrong")
        XCTAssertEqual(reply.status, 401)
        reply = try await self.call(.PUT, "/task-types/\(type)", key: "submit", json: config)
        XCTAssertEqual([reply.status, reply.code ?? ""] as [AnyHashable], [403, "PERMISSION_DENIED"])
        reply = try await self.call(.PUT, "/task-types/\(type)", key: "admin", json: config)
        XCTAssertEqual(reply.status, 200, reply.body)
        reply = try await self.call(.POST, "/tasks", key: "view", json: #"{"taskType": "\#(type)"}"#)
        XCTAssertEqual(reply.status, 403)

        // CSRF rules: a JSON content type, and no foreign Origin.
        var plain = HTTPClientRequest(url: self.base + "/tasks")
        plain.method = .POST
        plain.headers.add(name: "Authorization", value: "Bearer submit-\(self.secret)")
        plain.headers.add(name: "Content-Type", value: "text/plain")
        plain.body = .bytes(ByteBuffer(string: #"{"taskType": "\#(type)"}"#))
        let plainStatus = try await HTTPClient.shared.execute(plain, timeout: .seconds(10)).status.code
        XCTAssertEqual(plainStatus, 415)
        reply = try await self.call(.POST, "/tasks", key: "submit", json: #"{"taskType": "\#(type)"}"#, headers: [("Origin", "http://evil.example")])
        XCTAssertEqual(reply.status, 403)

        // Bad input: a clear status, and nothing created.
        for (body, status, code) in [
            (#"{"taskType": ""}"#, 400, "INVALID_ARGUMENT"),
            (#"{"taskType": "\#(type)", "bogus": 1}"#, 400, "INVALID_ARGUMENT"),
            (#"{"taskType": "\#(type)", "priority": "PRIORITY_URGENT"}"#, 400, "INVALID_ARGUMENT"),
            (#"{"taskType": "\#(type)", "timeoutSeconds": -1}"#, 400, "INVALID_ARGUMENT"),
            (#"{"taskType": "\#(type)", "dependsOn": ["x"]}"#, 400, "INVALID_ARGUMENT"),
            ("not json", 400, "INVALID_ARGUMENT"),
        ] {
            reply = try await self.call(.POST, "/tasks", key: "submit", json: body)
            XCTAssertEqual([reply.status, reply.code ?? ""] as [AnyHashable], [status, code], body)
        }
        reply = try await self.call(.GET, "/tasks?taskType=\(type)", key: "admin")
        XCTAssertEqual((reply.json["tasks"] as? [Any])?.count ?? 0, 0, "bad requests created nothing")
        reply = try await self.call(.GET, "/tasks?statuses=NOT_A_STATUS", key: "admin")
        XCTAssertEqual(reply.status, 400)
        reply = try await self.call(.GET, "/tasks/not-an-id", key: "admin")
        XCTAssertEqual(reply.status, 400)

        // Create (201), deduplicate (200), and the task reads the same over gRPC.
        reply = try await self.call(.POST, "/tasks", key: "submit", json: #"{"taskType": "\#(type)", "idempotencyKey": "k1", "payload": {"ms": "5"}}"#)
        XCTAssertEqual(reply.status, 201, reply.body)
        let created = try Baton_V1_CreateTaskResponse(jsonString: reply.body)
        reply = try await self.call(.POST, "/tasks", key: "submit", json: #"{"taskType": "\#(type)", "idempotencyKey": "k1"}"#)
        XCTAssertEqual(reply.status, 200)
        XCTAssertEqual(reply.json["deduplicated"] as? Bool, true)

        // Its events: the task at once, then each change until it is terminal; then the stream ends.
        let events = try await self.call(.GET, "/tasks/\(created.task.taskID)/events", key: "view")
        XCTAssertEqual(events.contentType, "text/event-stream")
        let states = events.body.components(separatedBy: "\n\n").filter { $0.hasPrefix("event: task") }.compactMap { event in
            event.split(separator: "\n").first { $0.hasPrefix("data: ") }.flatMap { try? Baton_V1_Task(jsonString: String($0.dropFirst(6))) }
        }
        XCTAssertEqual(states.last?.status, .succeeded, events.body)
        XCTAssertEqual(states.first?.taskID, created.task.taskID)

        reply = try await self.call(.GET, "/tasks/\(created.task.taskID)", key: "view")
        let overREST = try Baton_V1_GetTaskResponse(jsonString: reply.body).task
        let overGRPC = try await withBatonClient(host: "127.0.0.1", port: self.node.grpcPort, apiKey: "view-\(self.secret)") { client in
            try await client.getTask(created.task.taskID)
        }
        XCTAssertEqual(overREST, overGRPC, "a task reads the same in both APIs")

        // A log tail asks only for the lines after the newest it has.
        // (The worker writes log lines in batches: they may trail the status,
        // and the last, "succeeded in …", may come a flush after the others;
        // wait for it.)
        var ids: [Int64] = []
        _ = try await TestEnvironment.waitUntil(timeout: .seconds(10), every: .milliseconds(100)) {
            reply = try await self.call(.GET, "/tasks/\(created.task.taskID)/logs", key: "view")
            let lines = reply.json["logs"] as? [[String: Any]] ?? []
            ids = lines.compactMap { ($0["id"] as? String).flatMap(Int64.init) }
            return ids.count >= 2 && lines.contains { ($0["message"] as? String)?.hasPrefix("succeeded") == true }
        }
        guard ids.count >= 2 else { return XCTFail("the task's log lines: \(reply.body)") }
        reply = try await self.call(.GET, "/tasks/\(created.task.taskID)/logs?afterId=\(ids[0])", key: "view")
        XCTAssertEqual((reply.json["logs"] as? [[String: Any]] ?? []).compactMap { ($0["id"] as? String).flatMap(Int64.init) }, Array(ids.dropFirst()))
        reply = try await self.call(.GET, "/tasks/\(created.task.taskID)/logs?afterId=\(ids.last ?? 0)", key: "view")
        XCTAssertEqual((reply.json["logs"] as? [Any])?.count ?? 0, 0)
        reply = try await self.call(.GET, "/tasks/\(created.task.taskID)/logs?afterId=1&pageToken=x", key: "view")
        XCTAssertEqual(reply.status, 400)

        // Another tenant's task does not exist for it; cancelling a finished task is a conflict.
        reply = try await self.call(.GET, "/tasks/\(created.task.taskID)", key: "other")
        XCTAssertEqual([reply.status, reply.code ?? ""] as [AnyHashable], [404, "NOT_FOUND"])
        reply = try await self.call(.POST, "/tasks/\(created.task.taskID)/cancel", key: "other", json: "{}")
        XCTAssertEqual(reply.status, 404)
        reply = try await self.call(.POST, "/tasks/\(created.task.taskID)/cancel", key: "submit", json: "{}")
        XCTAssertEqual([reply.status, reply.code ?? ""] as [AnyHashable], [409, "FAILED_PRECONDITION"])
        reply = try await self.call(.GET, "/whoami", key: "other")
        XCTAssertEqual(reply.json["tenant"] as? String, "other")
        XCTAssertEqual(reply.json["role"] as? String, "submitter")

        // An HTTP/1.0 request without keep-alive: the server closes after the
        // response (a client reading to the end does not wait for a timeout).
        let started = ContinuousClock.now
        let plainGet = try WireNode.httpGet(port: self.node.httpPort, path: "/health")
        XCTAssertTrue(plainGet.hasPrefix("HTTP/1.1 200"), plainGet)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(2), "the connection was left open")

        reply = try await self.call(.DELETE, "/task-types/\(type)", key: "admin", json: "{}")
        XCTAssertEqual(reply.status, 200, reply.body)
        reply = try await self.call(.GET, "/no/such/route", key: "admin")
        XCTAssertEqual([reply.status, reply.code ?? ""] as [AnyHashable], [404, "NOT_FOUND"])
    }

    /// With every HTTP service running (REST, history sampling): SIGTERM ends
    /// the node with status 0, the leader lock released, not left to expire.
    func testSIGTERMStopsTheNodeCleanly() async throws {
        let leads = try await TestEnvironment.waitUntil(timeout: .seconds(15), every: .milliseconds(100)) { self.node.log.contains("became leader") }
        XCTAssertTrue(leads, "the node (alone in its namespace) leads")
        _ = try await self.call(.GET, "/history", key: "view")
        let (code, log) = self.node.stop()
        self.node = nil
        XCTAssertEqual(code, 0, "exit status; log:\n\(log.suffix(2000))")
        XCTAssertTrue(log.contains("released leadership"), log.suffix(2000).description)
    }

    /// A running task cancelled and retried at once runs again (the cancel
    /// left a tombstone for its queue entry, which the retry's new entry is
    /// not; the cancel signal names the attempt it ends, not the next one).
    func testARunningTaskCancelledAndRetriedAtOnceRunsAgain() async throws {
        let type = "restcr_\(self.node.id.suffix(8))"
        var reply = try await self.call(
            .PUT, "/task-types/\(type)", key: "admin", json: #"{"executor": "local", "endpoint": "sleep", "timeoutSeconds": 60, "enabled": true}"#
        )
        XCTAssertEqual(reply.status, 200, reply.body)
        for round in 1...3 {
            reply = try await self.call(.POST, "/tasks", key: "submit", json: #"{"taskType": "\#(type)", "payload": {"ms": "20000"}}"#)
            let id = try Baton_V1_CreateTaskResponse(jsonString: reply.body).task.taskID
            func state() async throws -> (status: String, attempt: Int) {
                let task = try await self.call(.GET, "/tasks/\(id)", key: "view").json["task"] as? [String: Any] ?? [:]
                return (task["status"] as? String ?? "", task["attempt"] as? Int ?? 0)
            }
            let running = try await TestEnvironment.waitUntil(timeout: .seconds(10), every: .milliseconds(20)) { try await state().status == "TASK_STATUS_RUNNING" }
            XCTAssertTrue(running, "round \(round): attempt 1 runs")
            reply = try await self.call(.POST, "/tasks/\(id)/cancel", key: "submit", json: "{}")
            XCTAssertEqual(reply.status, 200, reply.body)
            reply = try await self.call(.POST, "/tasks/\(id)/retry", key: "submit", json: "{}")
            XCTAssertEqual(reply.status, 200, reply.body)
            let again = try await TestEnvironment.waitUntil(timeout: .seconds(10), every: .milliseconds(50)) {
                let now = try await state()
                return now.status == "TASK_STATUS_RUNNING" && now.attempt == 2
            }
            let last = try await state()
            XCTAssertTrue(again, "round \(round): the retry runs as attempt 2 (now \(last))")
            // And keeps running: the first attempt's cancel did not end it.
            try await Task.sleep(for: .seconds(1))
            let after = try await state()
            XCTAssertEqual(after.status, "TASK_STATUS_RUNNING", "round \(round)")
            _ = try await self.call(.POST, "/tasks/\(id)/cancel", key: "submit", json: "{}")
        }
    }

    func testDeadLettersGroupAndRetryAsAGroup() async throws {
        let type = "restdl_\(self.node.id.suffix(8))"
        var reply = try await self.call(
            .PUT, "/task-types/\(type)", key: "admin", json: #"{"executor": "local", "endpoint": "fail", "timeoutSeconds": 30, "maxRetries": 0, "enabled": true}"#
        )
        XCTAssertEqual(reply.status, 200, reply.body)
        let batch = (0..<6).map { #"{"taskType": "\#(type)", "payload": {"message": "\#($0 < 4 ? "disk full" : "bad input")"}}"# }.joined(separator: ",")
        reply = try await self.call(.POST, "/tasks/batch", key: "submit", json: #"{"tasks": [\#(batch)]}"#)
        XCTAssertEqual(reply.status, 200, reply.body)
        let failed = try await TestEnvironment.waitUntil(timeout: .seconds(20), every: .milliseconds(200)) {
            let list = try await self.call(.GET, "/tasks?taskType=\(type)&statuses=FAILED", key: "view")
            return (list.json["tasks"] as? [Any])?.count == 6
        }
        XCTAssertTrue(failed, "six tasks failed")
        reply = try await self.call(.GET, "/dead-letters", key: "view")
        let groups = (reply.json["groups"] as? [[String: Any]] ?? []).filter { $0["taskType"] as? String == type }
        XCTAssertEqual(groups.map { $0["count"] as? Int ?? 0 }, [4, 2], reply.body)
        // Another tenant sees none of them.
        reply = try await self.call(.GET, "/dead-letters", key: "other")
        XCTAssertFalse(reply.body.contains(type))

        let biggest = try XCTUnwrap(groups.first)
        let error = try XCTUnwrap(biggest["error"] as? String)
        let body = try JSONSerialization.data(withJSONObject: ["taskType": type, "status": "TASK_STATUS_FAILED", "error": error])
        // A group retry is a bulk retry: admins only, over REST as BulkRetryTasks over gRPC.
        for key in ["view", "submit", "other"] {
            reply = try await self.call(.POST, "/dead-letters/retry", key: key, json: String(decoding: body, as: UTF8.self))
            XCTAssertEqual([reply.status, reply.code ?? ""] as [AnyHashable], [403, "PERMISSION_DENIED"], "\(key) retried a group")
        }
        reply = try await self.call(.POST, "/dead-letters/retry", key: "admin", json: String(decoding: body, as: UTF8.self))
        XCTAssertEqual(reply.status, 200, reply.body)
        XCTAssertEqual(reply.json["changed"] as? String, "4", reply.body)
        XCTAssertNil(reply.json["nextPageToken"], "every dead letter examined: \(reply.body)")
        // They fail again (the handler always fails): the same group, one attempt more each.
        let again = try await TestEnvironment.waitUntil(timeout: .seconds(20), every: .milliseconds(200)) {
            let list = try await self.call(.GET, "/tasks?taskType=\(type)&statuses=FAILED", key: "view")
            let tasks = (list.json["tasks"] as? [[String: Any]]) ?? []
            return tasks.count == 6 && tasks.filter { $0["attempt"] as? Int == 2 }.count == 4
        }
        XCTAssertTrue(again, "the group's four ran again, the other two did not")
    }
}

import BatonAuth
import BatonModel
import BatonProto
import BatonService
import Foundation
import Hummingbird
import NIOCore

/// Routes of the dashboard's own: dead letters by group, the charts'
/// history, who the caller is, and the API's OpenAPI document.
extension RESTRoutes {
    struct DeadLetters: Encodable {
        struct Group: Encodable {
            var taskType: String
            var status: String
            var error: String
            var count: Int
            var lastAt: Date
            var taskIds: [String]
        }

        var groups: [Group]
        var scanned: Int
    }

    struct History: Encodable {
        struct Sample: Encodable {
            var at: Date
            var succeeded: String
            var failed: String
            var queueHigh: String
            var queueNormal: String
            var queueDelayed: String
            var throughput: Double
            var startLatencyP50Ms: Double?
            var startLatencyP99Ms: Double?
        }

        var intervalSeconds: Int
        var samples: [Sample]
    }

    /// A group retry's answer: BulkTasksResponse's fields (int64 as strings,
    /// as proto JSON writes them), what was examined, and where to go on.
    struct DeadLetterRetry: Encodable {
        var matched: String
        var changed: String
        var examined: Int
        var nextPageToken: String?
    }

    struct WhoAmI: Encodable {
        var role: String
        var tenant: String
        var keyId: String?
    }

    /// The body of a group retry, read strictly: as a proto message would
    /// be, an unknown field or a wrong type is refused.
    struct GroupRetry {
        var taskType = ""
        var status = ""
        var error = ""
        var reason = ""
        var pageToken = ""

        init(json: ByteBuffer) throws {
            let usage = "the body must be {\"taskType\", \"status\", \"error\", \"reason\"?, \"pageToken\"?} with string values"
            guard let object = try? JSONSerialization.jsonObject(with: Data(json.readableBytesView)) as? [String: Any] else { throw Problem.invalid(usage) }
            for (key, value) in object {
                guard let text = value as? String else { throw Problem.invalid("\(key) must be a string; \(usage)") }
                switch key {
                case "taskType": self.taskType = text
                case "status": self.status = text
                case "error": self.error = text
                case "reason": self.reason = text
                case "pageToken": self.pageToken = text
                default: throw Problem.invalid("unknown field \(key); \(usage)")
                }
            }
            guard object["taskType"] != nil, object["status"] != nil, object["error"] != nil else { throw Problem.invalid(usage) }
        }
    }

    func addOperations(_ api: RouterGroup<BasicRequestContext>) {
        let tasks = self.tasks
        let history = self.history
        self.route(api, .get, "dead-letters", operation: "DeadLetters", access: .role(.viewer)) { request, _ in
            var limit = 1_000
            for (key, value) in request.uri.queryParameters {
                guard key == "limit", let number = Int(value) else { throw Problem.invalid("the only parameter is limit, a whole number") }
                limit = number
            }
            let (groups, scanned) = try await tasks.deadLetters(limit: limit)
            return try ProtoJSON.response(
                encodable: DeadLetters(
                    groups: groups.map { .init(taskType: $0.taskType, status: $0.status.wireName, error: $0.error, count: $0.count, lastAt: $0.lastAt, taskIds: $0.taskIDs) },
                    scanned: scanned
                )
            )
        }
        // A group retry is a bulk retry: who may call it is BulkRetryTasks's entry (admin).
        self.route(api, .post, "dead-letters/retry", operation: "RetryDeadLetters", access: Self.access("baton.v1.TaskService/BulkRetryTasks")) { request, _ in
            let group = try GroupRetry(json: try await ProtoJSON.body(of: request))
            let name = group.status.hasPrefix("TASK_STATUS_") ? group.status : "TASK_STATUS_\(group.status)"
            guard let status = TaskStatus.allCases.first(where: { $0.wireName == name }) else {
                throw Problem.invalid("status must be TASK_STATUS_FAILED or TASK_STATUS_TIMEOUT")
            }
            let result = try await tasks.retryDeadLetters(
                taskType: group.taskType, status: Baton_V1_TaskStatus(rawValue: status.rawValue) ?? .failed, error: group.error, reason: group.reason,
                pageToken: group.pageToken
            )
            return try ProtoJSON.response(
                encodable: DeadLetterRetry(
                    matched: String(result.matched), changed: String(result.changed), examined: result.examined, nextPageToken: result.nextPageToken
                )
            )
        }
        self.route(api, .get, "history", operation: "History", access: .role(.viewer)) { _, _ in
            // A tenant's caller charts its own tasks; an admin every tenant's.
            let samples = history?.recent(scope: Caller.current.scope) ?? []
            return try ProtoJSON.response(
                encodable: History(
                    intervalSeconds: Int((history?.interval ?? .seconds(10)).components.seconds),
                    samples: samples.map {
                        .init(
                            at: $0.at, succeeded: String($0.succeeded), failed: String($0.failed), queueHigh: String($0.queueHigh),
                            queueNormal: String($0.queueNormal), queueDelayed: String($0.queueDelayed), throughput: $0.throughput,
                            startLatencyP50Ms: $0.startLatency?.p50, startLatencyP99Ms: $0.startLatency?.p99
                        )
                    }
                )
            )
        }
        self.route(api, .get, "whoami", operation: "WhoAmI", access: .role(.viewer)) { _, _ in
            let caller = Caller.current
            return try ProtoJSON.response(encodable: WhoAmI(role: caller.role.rawValue, tenant: caller.tenant, keyId: caller.keyID))
        }
        let assets = self.assets
        self.route(api, .get, "openapi.json", operation: "OpenAPI", access: .open) { request, _ in
            guard let document = assets("openapi.json") else { throw Problem(status: 404, code: "NOT_FOUND", detail: "no OpenAPI document in this build") }
            return StaticFiles.response(document, request: request)
        }
    }
}

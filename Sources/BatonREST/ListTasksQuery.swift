import BatonProto
import Foundation

/// `GET /api/v1/tasks?…` as a ListTasksRequest: each parameter is the
/// request's field of that name, read as the proto JSON mapping reads it
/// (so a bad status or time fails as a bad body would).
public enum ListTasksQuery {
    static let strings: Set = ["taskType", "pageToken", "createdAfter", "createdBefore", "workerId", "idempotencyKey", "scheduleId", "dependsOn"]

    public static func request(_ parameters: [(key: String, value: String)]) throws -> Baton_V1_ListTasksRequest {
        var object: [String: Any] = [:]
        var statuses: [String] = []
        for (key, value) in parameters {
            switch key {
            case "statuses", "status":
                for name in value.split(separator: ",") where !name.isEmpty {
                    let name = name.uppercased()
                    statuses.append(name.hasPrefix("TASK_STATUS_") ? name : "TASK_STATUS_\(name)")
                }
            case "pageSize":
                guard let size = Int32(value) else { throw Problem.invalid("pageSize must be a whole number") }
                object[key] = size
            case "oldestFirst":
                guard let flag = Bool(value) else { throw Problem.invalid("oldestFirst must be true or false") }
                object[key] = flag
            case _ where Self.strings.contains(key):
                guard object[key] == nil else { throw Problem.invalid("\(key) is given twice") }
                object[key] = value
            default:
                throw Problem.invalid("unknown query parameter \(key)")
            }
        }
        if !statuses.isEmpty { object["statuses"] = statuses }
        let bytes = try JSONSerialization.data(withJSONObject: object)
        return try ProtoJSON.decode(Baton_V1_ListTasksRequest.self, from: Array(bytes))
    }
}

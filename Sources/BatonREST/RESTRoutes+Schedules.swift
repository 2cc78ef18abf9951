import BatonProto
import BatonService
import Foundation
import Hummingbird
import SwiftProtobuf

/// Schedules under `/api/v1/schedules`, on `ScheduleService` as gRPC's
/// AdminService is, and the cron preview the dashboard's editor shows
/// before it saves.
extension RESTRoutes {
    struct CronPreview: Encodable {
        var cron: String
        var timeZone: String
        var fireTimes: [Date]
    }

    func addSchedules(_ api: RouterGroup<BasicRequestContext>) {
        let schedules = self.schedules
        let service = "baton.v1.AdminService/"
        self.route(api, .get, "schedules", rpc: service + "ListSchedules") { _, _ in
            try ProtoJSON.response(try await schedules.listSchedules(.init()))
        }
        self.route(api, .get, "schedules/{scheduleId}", rpc: service + "GetSchedule") { _, context in
            try ProtoJSON.response(try await schedules.getSchedule(.with { $0.scheduleID = context.parameters.get("scheduleId") ?? "" }))
        }
        self.route(api, .put, "schedules/{scheduleId}", rpc: service + "PutSchedule") { request, context in
            var schedule = try await ProtoJSON.decode(Baton_V1_Schedule.self, from: request, context: context)
            try Self.pathID(&schedule.scheduleID, context.parameters.get("scheduleId"))
            return try ProtoJSON.response(try await schedules.putSchedule(.with { $0.schedule = schedule }))
        }
        self.route(api, .delete, "schedules/{scheduleId}", rpc: service + "DeleteSchedule") { _, context in
            try ProtoJSON.response(try await schedules.deleteSchedule(.with { $0.scheduleID = context.parameters.get("scheduleId") ?? "" }))
        }
        self.route(api, .post, "schedules/{scheduleId}/trigger", rpc: service + "TriggerSchedule") { _, context in
            try ProtoJSON.response(try await schedules.triggerSchedule(.with { $0.scheduleID = context.parameters.get("scheduleId") ?? "" }))
        }
        // Pause and resume are a PutSchedule with `paused` changed: its role.
        let putAccess = Self.access(service + "PutSchedule")
        self.route(api, .post, "schedules/{scheduleId}/pause", operation: "PauseSchedule", access: putAccess) { _, context in
            try ProtoJSON.response(try await schedules.setPaused(context.parameters.get("scheduleId") ?? "", paused: true))
        }
        self.route(api, .post, "schedules/{scheduleId}/resume", operation: "ResumeSchedule", access: putAccess) { _, context in
            try ProtoJSON.response(try await schedules.setPaused(context.parameters.get("scheduleId") ?? "", paused: false))
        }
        // Pure computation on the server's parser: anyone who may read the API.
        self.route(api, .get, "cron-preview", operation: "CronPreview", access: .role(.viewer)) { request, _ in
            var cron: String?
            var timeZone = ""
            var count = 5
            var after: Date?
            for (key, value) in FormQuery.parameters(request.uri.query) {
                switch key {
                case "cron": cron = value
                case "timeZone": timeZone = value
                case "count":
                    guard let number = Int(value) else { throw Problem.invalid("count must be a whole number 1-\(ScheduleService.previewLimit)") }
                    count = number
                case "after":
                    guard let stamp = try? Google_Protobuf_Timestamp(jsonString: "\"\(value)\"") else {
                        throw Problem.invalid("after must be an RFC 3339 time such as 2026-01-02T03:04:05Z")
                    }
                    after = stamp.date
                default: throw Problem.invalid("unknown query parameter \(key); give cron, timeZone, count, after")
                }
            }
            guard let cron, !cron.isEmpty else { throw Problem.invalid("cron is required (a cron expression such as \"30 2 * * *\")") }
            let fires = try schedules.preview(cron: cron, timeZone: timeZone, count: count, after: after)
            return try ProtoJSON.response(encodable: CronPreview(cron: cron, timeZone: timeZone, fireTimes: fires))
        }
    }
}

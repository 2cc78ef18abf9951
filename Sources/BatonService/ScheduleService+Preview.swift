import BatonCron
import BatonProto
import Foundation
import GRPCCore

/// What the dashboard's schedule editor asks before it saves: an
/// expression's next fire times, and pause/resume as a read and a put.
extension ScheduleService {
    /// A preview answers at most this many fire times (the editor shows five).
    public static let previewLimit = 20

    /// The first `count` fire times of `cron` in `timeZone` ("" = UTC)
    /// strictly after `after`, computed as the leader computes them. A bad
    /// expression or zone is refused with the message PutSchedule gives,
    /// which names the field (`hour field "25": …`, `time zone "Mars/Base": …`).
    public static func preview(cron: String, timeZone: String, after: Date, count: Int) throws(RPCError) -> [Date] {
        guard (1...Self.previewLimit).contains(count) else { throw RPCErrors.invalid("count must be 1-\(Self.previewLimit), got \(count)") }
        let schedule: CronSchedule
        do {
            schedule = try CronSchedule(cron: cron, timeZoneName: timeZone)
        } catch {
            throw RPCErrors.invalid("cron \"\(cron)\"\(timeZone.isEmpty ? "" : " in \(timeZone)"): \(error)")
        }
        var fires: [Date] = []
        var instant = after
        while fires.count < count, let next = schedule.nextFire(after: instant) {
            fires.append(next)
            instant = next
        }
        return fires
    }

    /// `preview` from the cluster's clock (or `after`, when given).
    public func preview(cron: String, timeZone: String, count: Int, after: Date? = nil) throws(RPCError) -> [Date] {
        try Self.preview(cron: cron, timeZone: timeZone, after: after ?? self.broker.clock.now(), count: count)
    }

    /// Pause or resume: the stored schedule put again with `paused` changed,
    /// so a resume follows the misfire policy as PutSchedule's does (the
    /// expression and zone are unchanged, so the pending fire time stays).
    public func setPaused(_ scheduleID: String, paused: Bool) async throws -> Baton_V1_Schedule {
        var schedule = try await self.getSchedule(.with { $0.scheduleID = scheduleID })
        guard schedule.paused != paused else { return schedule }
        schedule.paused = paused
        return try await self.putSchedule(.with { $0.schedule = schedule })
    }
}

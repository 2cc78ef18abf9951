@testable import BatonREST
@testable import BatonService
import Foundation
import GRPCCore
import Testing

/// The schedule editor's preview: the leader's fire times, and refusals
/// that name the field, without a server.
@Suite struct CronPreviewTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15 08:00:00 UTC

    @Test func nextFiveFireTimesAreTheSchedulesOwn() throws {
        let fires = try ScheduleService.preview(cron: "*/15 * * * *", timeZone: "", after: self.start, count: 5)
        #expect(fires.map(\.timeIntervalSince1970) == [900, 1800, 2700, 3600, 4500].map { 1_800_000_000 + $0 })
        // 02:30 in Berlin in January (CET, +1) is 01:30 UTC, a day apart.
        let berlin = try ScheduleService.preview(cron: "30 2 * * *", timeZone: "Europe/Berlin", after: self.start, count: 2)
        #expect(berlin.map(\.timeIntervalSince1970) == [1_800_063_000, 1_800_149_400])
    }

    @Test func refusalsNameTheField() {
        for (cron, zone, words) in [
            ("0 25 * * *", "", "hour field \"25\""),
            ("* * *", "", "cron expression"),
            ("0 2 * * *", "Mars/Base", "time zone \"Mars/Base\""),
            ("@every 0s", "", "@every interval"),
        ] {
            do {
                _ = try ScheduleService.preview(cron: cron, timeZone: zone, after: self.start, count: 5)
                Issue.record("\(cron) in \(zone) was accepted")
            } catch {
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains(words), "\(error.message)")
            }
        }
    }

    @Test func countIsBounded() {
        for count in [0, -1, ScheduleService.previewLimit + 1] {
            #expect(throws: RPCError.self) { try ScheduleService.preview(cron: "* * * * *", timeZone: "", after: self.start, count: count) }
        }
    }

    /// The editor sends `URLSearchParams`' form encoding: `+` is a space, `%2B` a plus.
    @Test func queryStringsReadAsFormsWriteThem() {
        let parameters = FormQuery.parameters("cron=30+2+*+*+*&timeZone=Etc%2FGMT%2B2&count=5&empty=&flag")
        #expect(parameters.map(\.key) == ["cron", "timeZone", "count", "empty", "flag"])
        #expect(parameters.map(\.value) == ["30 2 * * *", "Etc/GMT+2", "5", "", ""])
        #expect(FormQuery.parameters(nil).isEmpty && FormQuery.parameters("").isEmpty)
    }
}

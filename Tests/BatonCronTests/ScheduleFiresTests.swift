import Foundation
import Testing

@testable import BatonCron

/// `@every` alignment and `fires(after:through:limit:)`, the misfire policy "run all".
@Suite struct ScheduleFiresTests {
    @Test func everyIsAlignedToTheEpochInAnyZone() throws {
        for zone in ["", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu"] {
            let fiveMinutes = try CronSchedule(cron: "@every 5m", timeZoneName: zone)
            #expect(fiveMinutes.nextFire(after: instant("2024-05-01T12:03:27Z")) == instant("2024-05-01T12:05:00Z"))
            #expect(fiveMinutes.nextFire(after: instant("2024-05-01T12:05:00Z")) == instant("2024-05-01T12:10:00Z"))
            // 7 minutes do not divide an hour: multiples of 420 s since 1970-01-01T00:00:00Z.
            let sevenMinutes = try CronSchedule(cron: "@every 7m", timeZoneName: zone)
            let next = try #require(sevenMinutes.nextFire(after: instant("2024-05-01T12:00:00Z")))
            #expect(Int64(next.timeIntervalSince1970) % 420 == 0)
            #expect(next > instant("2024-05-01T12:00:00Z"))
            #expect(next.timeIntervalSince(instant("2024-05-01T12:00:00Z")) <= 420)
        }
        let ninetyMinutes = try CronSchedule(cron: "@every 1h30m", timeZoneName: "")
        #expect(ninetyMinutes.nextFire(after: instant("1970-01-01T00:00:00Z")) == instant("1970-01-01T01:30:00Z"))
        #expect(ninetyMinutes.nextFire(after: instant("1969-12-31T23:00:00Z")) == instant("1970-01-01T00:00:00Z"))
        // Every second, with a fractional start.
        let everySecond = try CronSchedule(cron: "@every 1s", timeZoneName: "")
        #expect(everySecond.nextFire(after: Date(timeIntervalSince1970: 100.5)) == Date(timeIntervalSince1970: 101))
    }

    @Test func everyIgnoresDaylightSaving() throws {
        let hourly = try CronSchedule(cron: "@every 1h", timeZoneName: "America/New_York")
        let fires = hourly.fires(after: instant("2024-03-10T00:30:00-05:00"), through: instant("2024-03-10T04:30:00-04:00"))
        #expect(fires == [
            instant("2024-03-10T01:00:00-05:00"), instant("2024-03-10T03:00:00-04:00"), instant("2024-03-10T04:00:00-04:00"),
        ])
    }

    @Test func firesAreThoseInAfterThroughWithTheEndIncluded() throws {
        let schedule = try CronSchedule(cron: "0 * * * *", timeZoneName: "Europe/London")
        #expect(schedule.fires(after: instant("2024-05-01T10:00:00Z"), through: instant("2024-05-01T13:00:00Z")) == [
            instant("2024-05-01T11:00:00Z"), instant("2024-05-01T12:00:00Z"), instant("2024-05-01T13:00:00Z"),
        ])
        #expect(schedule.fires(after: instant("2024-05-01T10:00:00Z"), through: instant("2024-05-01T10:59:59Z")).isEmpty)
        #expect(schedule.fires(after: instant("2024-05-01T13:00:00Z"), through: instant("2024-05-01T10:00:00Z")).isEmpty)
    }

    @Test func firesStopAtTheLimit() throws {
        let everySecond = try CronSchedule(cron: "* * * * * *", timeZoneName: "")
        let day = everySecond.fires(after: instant("2024-05-01T00:00:00Z"), through: instant("2024-05-02T00:00:00Z"))
        #expect(day.count == CronSchedule.runAllLimit)
        #expect(CronSchedule.runAllLimit == 100)
        #expect(day.first == instant("2024-05-01T00:00:01Z"))
        #expect(day.last == instant("2024-05-01T00:01:40Z"))
        // The earliest come first, whatever the limit.
        let three = everySecond.fires(after: instant("2024-05-01T00:00:00Z"), through: instant("2024-05-02T00:00:00Z"), limit: 3)
        #expect(three == Array(day.prefix(3)))
        #expect(everySecond.fires(after: instant("2024-05-01T00:00:00Z"), through: instant("2024-05-02T00:00:00Z"), limit: 0).isEmpty)
        // A monthly schedule missed for 20 years: capped as well.
        let monthly = try CronSchedule(cron: "@monthly", timeZoneName: "Australia/Sydney")
        let missed = monthly.fires(after: instant("2000-01-01T00:00:00Z"), through: instant("2020-01-01T00:00:00Z"))
        #expect(missed.count == 100)
    }

    @Test func farSearchesEndWithNil() throws {
        let daily = try CronSchedule(cron: "@daily", timeZoneName: "")
        #expect(daily.nextFire(after: .distantFuture) != nil)  // year 4001 is still computed
        #expect(daily.nextFire(after: Date(timeIntervalSince1970: 1e18)) == nil)  // past what the search handles
    }
}

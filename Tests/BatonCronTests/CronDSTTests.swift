import Foundation
import Testing

@testable import BatonCron

/// Daylight saving by hand, in three hemispheres' worth of zones. The rules (CronSchedule):
/// an every-hour expression runs on real time (a repeated hour fires again, a skipped hour
/// fires nothing); any other expression fires each matching local time once, at its first
/// occurrence, or at the first instant after the gap when spring forward skips it.
@Suite struct CronDSTTests {
    func fires(_ cron: String, in zone: String, after start: String, count: Int) throws -> [Date] {
        let schedule = try CronSchedule(cron: cron, timeZoneName: zone)
        var fires: [Date] = []
        var cursor = instant(start)
        while fires.count < count, let next = schedule.nextFire(after: cursor) {
            fires.append(next)
            cursor = next
        }
        return fires
    }

    // America/New_York, 2024-03-10: 02:00 EST -> 03:00 EDT.

    @Test func aFixedTimeInTheSpringForwardGapFiresWhenTheGapEnds() throws {
        #expect(try fires("30 2 * * *", in: "America/New_York", after: "2024-03-09T12:00:00-05:00", count: 3) == [
            instant("2024-03-10T03:00:00-04:00"), instant("2024-03-11T02:30:00-04:00"), instant("2024-03-12T02:30:00-04:00"),
        ])
        // Also with seconds: the first instant after the gap is 03:00:00, not 03:00:10.
        #expect(try fires("10 30 2 * * *", in: "America/New_York", after: "2024-03-09T12:00:00-05:00", count: 2) == [
            instant("2024-03-10T03:00:00-04:00"), instant("2024-03-11T02:30:10-04:00"),
        ])
    }

    @Test func severalSkippedTimesFireOnceWhenTheGapEnds() throws {
        #expect(try fires("*/20 2 * * *", in: "America/New_York", after: "2024-03-09T12:00:00-05:00", count: 4) == [
            instant("2024-03-10T03:00:00-04:00"), instant("2024-03-11T02:00:00-04:00"),
            instant("2024-03-11T02:20:00-04:00"), instant("2024-03-11T02:40:00-04:00"),
        ])
    }

    @Test func aGapFireIsStillAheadOfAStartJustBeforeIt() throws {
        #expect(try fires("30 2 * * *", in: "America/New_York", after: "2024-03-10T01:59:59-05:00", count: 1) == [
            instant("2024-03-10T03:00:00-04:00")
        ])
        #expect(try fires("30 2 * * *", in: "America/New_York", after: "2024-03-10T03:00:00-04:00", count: 1) == [
            instant("2024-03-11T02:30:00-04:00")
        ])
    }

    @Test func everyHourExpressionsKeepRealTimeThroughTheGap() throws {
        // 01:05 EST to 03:05 EDT is one real hour; 02:05 never happens.
        #expect(try fires("5 * * * *", in: "America/New_York", after: "2024-03-10T00:30:00-05:00", count: 3) == [
            instant("2024-03-10T01:05:00-05:00"), instant("2024-03-10T03:05:00-04:00"), instant("2024-03-10T04:05:00-04:00"),
        ])
        #expect(try fires("*/15 * * * *", in: "America/New_York", after: "2024-03-10T01:30:00-05:00", count: 3) == [
            instant("2024-03-10T01:45:00-05:00"), instant("2024-03-10T03:00:00-04:00"), instant("2024-03-10T03:15:00-04:00"),
        ])
    }

    // America/New_York, 2024-11-03: 02:00 EDT -> 01:00 EST, 01:00-02:00 shows twice.

    @Test func aFixedTimeInTheRepeatedHourFiresOnceAtItsFirstOccurrence() throws {
        #expect(try fires("30 1 * * *", in: "America/New_York", after: "2024-11-02T12:00:00-04:00", count: 2) == [
            instant("2024-11-03T01:30:00-04:00"), instant("2024-11-04T01:30:00-05:00"),
        ])
        // From inside the second pass, the second 01:30 is not a fire time.
        #expect(try fires("30 1 * * *", in: "America/New_York", after: "2024-11-03T01:10:00-05:00", count: 1) == [
            instant("2024-11-04T01:30:00-05:00")
        ])
        #expect(try fires("*/15 1 * * *", in: "America/New_York", after: "2024-11-03T00:50:00-04:00", count: 5) == [
            instant("2024-11-03T01:00:00-04:00"), instant("2024-11-03T01:15:00-04:00"),
            instant("2024-11-03T01:30:00-04:00"), instant("2024-11-03T01:45:00-04:00"),
            instant("2024-11-04T01:00:00-05:00"),
        ])
    }

    @Test func everyHourExpressionsFireInBothPassesOfTheRepeatedHour() throws {
        #expect(try fires("*/15 * * * *", in: "America/New_York", after: "2024-11-03T00:50:00-04:00", count: 10) == [
            instant("2024-11-03T01:00:00-04:00"), instant("2024-11-03T01:15:00-04:00"),
            instant("2024-11-03T01:30:00-04:00"), instant("2024-11-03T01:45:00-04:00"),
            instant("2024-11-03T01:00:00-05:00"), instant("2024-11-03T01:15:00-05:00"),
            instant("2024-11-03T01:30:00-05:00"), instant("2024-11-03T01:45:00-05:00"),
            instant("2024-11-03T02:00:00-05:00"), instant("2024-11-03T02:15:00-05:00"),
        ])
        #expect(try fires("@hourly", in: "America/New_York", after: "2024-11-03T00:30:00-04:00", count: 3) == [
            instant("2024-11-03T01:00:00-04:00"), instant("2024-11-03T01:00:00-05:00"), instant("2024-11-03T02:00:00-05:00"),
        ])
    }

    // Europe/Berlin: 2024-03-31 02:00 -> 03:00; 2024-10-27 03:00 -> 02:00.

    @Test func berlin() throws {
        #expect(try fires("0 2 * * *", in: "Europe/Berlin", after: "2024-03-30T12:00:00+01:00", count: 2) == [
            instant("2024-03-31T03:00:00+02:00"), instant("2024-04-01T02:00:00+02:00"),
        ])
        #expect(try fires("30 2 * * *", in: "Europe/Berlin", after: "2024-10-26T12:00:00+02:00", count: 2) == [
            instant("2024-10-27T02:30:00+02:00"), instant("2024-10-28T02:30:00+01:00"),
        ])
    }

    // Australia/Sydney (southern hemisphere): 2024-04-07 03:00 AEDT -> 02:00 AEST;
    // 2024-10-06 02:00 AEST -> 03:00 AEDT.

    @Test func sydney() throws {
        #expect(try fires("30 2 * * *", in: "Australia/Sydney", after: "2024-10-05T12:00:00+10:00", count: 2) == [
            instant("2024-10-06T03:00:00+11:00"), instant("2024-10-07T02:30:00+11:00"),
        ])
        #expect(try fires("30 2 * * *", in: "Australia/Sydney", after: "2024-04-06T12:00:00+11:00", count: 2) == [
            instant("2024-04-07T02:30:00+11:00"), instant("2024-04-08T02:30:00+10:00"),
        ])
        #expect(try fires("*/30 * * * *", in: "Australia/Sydney", after: "2024-04-07T01:50:00+11:00", count: 5) == [
            instant("2024-04-07T02:00:00+11:00"), instant("2024-04-07T02:30:00+11:00"),
            instant("2024-04-07T02:00:00+10:00"), instant("2024-04-07T02:30:00+10:00"),
            instant("2024-04-07T03:00:00+10:00"),
        ])
    }

    // Australia/Lord_Howe moves by 30 minutes: 2024-10-06 02:00 +10:30 -> 02:30 +11:00.

    @Test func lordHoweHalfHourShift() throws {
        #expect(try fires("15 2 * * *", in: "Australia/Lord_Howe", after: "2024-10-05T12:00:00+10:30", count: 2) == [
            instant("2024-10-06T02:30:00+11:00"), instant("2024-10-07T02:15:00+11:00"),
        ])
    }

    // Zones whose clocks jump at midnight: @daily fires when the day's first hour begins.

    @Test func midnightGaps() throws {
        #expect(try fires("@daily", in: "America/Havana", after: "2024-03-09T12:00:00-05:00", count: 2) == [
            instant("2024-03-10T01:00:00-04:00"), instant("2024-03-11T00:00:00-04:00"),
        ])
        #expect(try fires("0 0 * * *", in: "Asia/Beirut", after: "2024-03-30T12:00:00+02:00", count: 2) == [
            instant("2024-03-31T01:00:00+03:00"), instant("2024-04-01T00:00:00+03:00"),
        ])
    }

    @Test func timeZoneNames() throws {
        #expect(try CronSchedule.timeZone(named: "").secondsFromGMT() == 0)
        #expect(try CronSchedule.timeZone(named: "UTC").secondsFromGMT() == 0)
        #expect(try CronSchedule.timeZone(named: "Asia/Kolkata").secondsFromGMT() == 19_800)
        for bad in ["Mars/Base", "GMT+2", "UTC-05:00", "america/new_york"] {
            #expect(throws: CronError.self) { try CronSchedule.timeZone(named: bad) }
        }
        do {
            _ = try CronSchedule(cron: "@daily", timeZoneName: "Mars/Base")
            Issue.record("Mars/Base accepted")
        } catch {
            #expect(error.field == .timeZone)
            #expect(error.description.hasPrefix("time zone \"Mars/Base\": not a known IANA time zone name"))
        }
    }
}

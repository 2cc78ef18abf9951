import BatonClient
import BatonProto
import Foundation
import SwiftProtobuf
import Testing

/// What the CLI prints and parses, without a server.
@Suite struct ClientFormattingTests {
    @Test func tablesAlignColumnsAndColourOnlyWhenAsked() {
        var table = TextTable(header: ["ID", "STATUS", "N"], rightAligned: [2])
        table.append([TextTable.Cell("a"), TextTable.Cell("failed", .red), TextTable.Cell("7")])
        table.append([TextTable.Cell("bbbb"), TextTable.Cell("ok", .green), TextTable.Cell("1234")])
        #expect(table.render(colour: false) == """
            ID    STATUS     N
            a     failed     7
            bbbb  ok      1234
            """)
        let coloured = table.render(colour: true)
        #expect(coloured.contains("\u{1B}[31mfailed"))
        #expect(!table.render(colour: false).contains("\u{1B}"))
    }

    @Test func timesReadAndTyped() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(TimeText.relative(now.addingTimeInterval(-4.2), now: now) == "4.2s ago")
        #expect(TimeText.relative(now.addingTimeInterval(-75), now: now) == "1m15s ago")
        #expect(TimeText.relative(now.addingTimeInterval(-3 * 3600), now: now) == "3h ago")
        #expect(TimeText.relative(now.addingTimeInterval(50 * 3600), now: now) == "in 2d2h")
        #expect(TimeText.absolute(now) == "2027-01-15 08:00:00")
        #expect(TimeText.duration("1h30m") == 5400)
        #expect(TimeText.duration("7d") == 604_800)
        #expect(TimeText.duration("15") == nil)
        #expect(TimeText.duration("5x") == nil)
        #expect(TimeText.instant("2h", now: now) == now.addingTimeInterval(-7200))
        #expect(TimeText.instant("2026-12-01T10:00:00Z") == Date(timeIntervalSince1970: 1_796_119_200))
        #expect(TimeText.instant("2026-12-01") == Date(timeIntervalSince1970: 1_796_083_200))
        #expect(TimeText.instant("yesterday") == nil)
    }

    @Test func progressBars() {
        #expect(ProgressBar(total: 1000, width: 10).render(450) == "[####------]  450/1000  45%")
        #expect(ProgressBar(total: 0, width: 4).render(0) == "[####]  0/0  100%")
        #expect(ProgressBar(total: 10, width: 4).render(99) == "[####]  10/10  100%")
    }
}

/// `baton-client schedule …`: its policy options and what it prints.
@Suite struct ScheduleTextTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func policiesReadAsTyped() {
        #expect(ScheduleText.misfire("run-all") == .misfireRunAll)
        #expect(ScheduleText.misfire("RUN_ONCE") == .misfireRunOnce)
        #expect(ScheduleText.misfire("skip") == .misfireSkip)
        #expect(ScheduleText.misfire("sometimes") == nil)
        #expect(ScheduleText.overlap("skip") == .overlapSkip)
        #expect(ScheduleText.overlap("cancel-previous") == .overlapCancelPrevious)
        #expect(ScheduleText.overlap("sometimes") == nil)
        #expect(ScheduleText.name(Baton_V1_OverlapPolicy.overlapCancelPrevious) == "cancel-previous")
        #expect(ScheduleText.name(Baton_V1_MisfirePolicy.misfireRunAll) == "run-all")
    }

    @Test func listAndDetail() {
        let active = Baton_V1_Schedule.with {
            $0.scheduleID = "nightly"
            $0.cron = "30 2 * * *"
            $0.timeZone = "Europe/Berlin"
            $0.taskType = "echo"
            $0.payload = ["report": "daily"]
            $0.overlap = .overlapSkip
            $0.nextFireAt = Google_Protobuf_Timestamp(date: self.now.addingTimeInterval(3 * 3600))
            $0.lastFireAt = Google_Protobuf_Timestamp(date: self.now.addingTimeInterval(-21 * 3600))
            $0.lastTaskID = "01890000-0000-7000-8000-000000000001"
        }
        var paused = active
        paused.scheduleID = "sweep"
        paused.paused = true
        paused.timeZone = ""
        paused.clearLastFireAt()
        paused.lastTaskID = ""
        let lines = ScheduleText.table([active, paused], now: self.now).render(colour: false).split(separator: "\n")
            .map { $0.split(separator: " ").map(String.init) }
        #expect(lines == [
            ["SCHEDULE", "CRON", "ZONE", "TYPE", "NEXT", "LAST", "LAST", "TASK", "STATE"],
            ["nightly", "30", "2", "*", "*", "*", "Europe/Berlin", "echo", "in", "3h", "21h", "ago", "01890000-0000-7000-8000-000000000001", "active"],
            ["sweep", "30", "2", "*", "*", "*", "UTC", "echo", "-", "-", "-", "paused"],
        ])
        let text = ScheduleText.detail(active, now: self.now)
        #expect(text.contains("cron       30 2 * * *  (Europe/Berlin)"))
        #expect(text.contains("next fire  2027-01-15 11:00:00  (in 3h)"))
        #expect(text.contains("overlap    skip"))
        #expect(text.contains("timeout    the type's"))
        #expect(text.contains("payload    report=daily"))
        #expect(ScheduleText.detail(paused, now: self.now).contains("next fire  - (paused)"))
    }
}

import BatonClient
import Foundation
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

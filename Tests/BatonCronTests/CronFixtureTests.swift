import Foundation
import Testing

@testable import BatonCron

/// The differential test: fire times computed by croniter (with the contract's DST rule
/// applied by the script), for thousands of random expressions and zones, in
/// Fixtures/cron-fixture.json made by scripts/cron-fixture.py.
@Suite struct CronFixtureTests {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let cron: String
            let zone: String
            let after: Int64
            let fires: [Int64]
        }
        let croniter: String
        let tzdata: String
        let transitions: [String: [[Int64]]]
        let cases: [Case]
    }

    static let fixture: Fixture = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/cron-fixture.json")
        let data = try! Data(contentsOf: url)
        return try! JSONDecoder().decode(Fixture.self, from: data)
    }()

    /// Python's tz database and Foundation's (ICU's) must agree on the fixture's zones,
    /// or a difference in the cases below would be about tz data, not about cron.
    @Test func foundationHasTheSameTransitionsAsTheGenerator() throws {
        let from: Int64 = 1_546_300_800  // 2019-01-01, as the script's window
        let to: Int64 = 2_114_380_800  // 2037-01-01
        for (name, expected) in Self.fixture.transitions {
            let clock = ZoneClock(timeZone: try CronSchedule.timeZone(named: name))
            var seen: [[Int64]] = []
            var probe = from
            while let next = clock.nextTransition(after: probe), next < to {
                if clock.offset(at: next) != clock.offset(at: next - 1) {
                    seen.append([next, clock.offset(at: next)])
                }
                probe = next
            }
            #expect(seen == expected, "tz data for \(name) differs between the fixture (tzdata \(Self.fixture.tzdata)) and Foundation")
        }
    }

    @Test func firesAsCroniterWithTheContractsDSTRule() throws {
        let fixture = Self.fixture
        #expect(fixture.cases.count >= 5_000)
        var failures: [String] = []
        for item in fixture.cases {
            let schedule: CronSchedule
            do {
                schedule = try CronSchedule(cron: item.cron, timeZoneName: item.zone)
            } catch {
                failures.append("\(item.cron) [\(item.zone)]: refused: \(error)")
                continue
            }
            let after = Date(timeIntervalSince1970: Double(item.after))
            let through = Date(timeIntervalSince1970: Double(item.fires.last!))
            let got = schedule.fires(after: after, through: through, limit: 1_000)
                .map { Int64($0.timeIntervalSince1970) }
            if got != item.fires {
                failures.append("\(item.cron) [\(item.zone)] after \(item.after): expected \(item.fires), got \(got)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(fixture.cases.count) cases differ, e.g.:\n\(failures.prefix(15).joined(separator: "\n"))")
    }

    /// A fraction of a second after the start changes nothing: fire times are whole seconds.
    @Test func fractionalStartsFireAsTheirWholeSecond() throws {
        for item in Self.fixture.cases.prefix(500) {
            let schedule = try CronSchedule(cron: item.cron, timeZoneName: item.zone)
            let next = schedule.nextFire(after: Date(timeIntervalSince1970: Double(item.after) + 0.999))
            #expect(next.map { Int64($0.timeIntervalSince1970) } == item.fires[0], "\(item.cron) [\(item.zone)]")
        }
    }
}

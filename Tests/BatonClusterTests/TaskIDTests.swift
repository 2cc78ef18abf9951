import BatonModel
import Foundation
import Testing

@Suite struct TaskIDTests {
    @Test func idsAreVersion7UUIDsOrderedByTheirMillisecond() {
        let now = Date(timeIntervalSince1970: 1_796_000_000.123)
        let id = TaskID.make(now: now)
        #expect(TaskID.isWellFormed(id))
        #expect(id == id.lowercased())
        let utf8 = Array(id.utf8)
        #expect(utf8[14] == UInt8(ascii: "7"), "version 7: \(id)")
        #expect("89ab".utf8.contains(utf8[19]), "RFC 4122 variant: \(id)")
        // The first 48 bits are the millisecond: the same as the id bound of that instant.
        #expect(id.prefix(13) == TaskID.bound(at: now, rounding: .down).prefix(13))
        let later = TaskID.make(now: now.addingTimeInterval(0.001))
        #expect(id < later)
    }

    @Test func idsAreUnique() {
        let now = Date()
        let ids = (0..<10_000).map { _ in TaskID.make(now: now) }
        #expect(Set(ids).count == ids.count)
    }
}

import BatonBroker
import BatonModel
import XCTest

final class QueueEntryTests: XCTestCase {
    func testMemberRoundTrips() {
        let entry = QueueEntry(taskID: "01a2-id", taskType: "email.send", priority: .high)
        XCTAssertEqual(entry.member, "1|01a2-id|email.send")
        XCTAssertEqual(QueueEntry(member: entry.member), entry)
        XCTAssertEqual(QueueEntry(member: "0|id|ünïcode-type")?.taskType, "ünïcode-type")
    }

    func testMalformedMembersAreRejected() {
        for member in ["", "1", "1|id", "x|id|type", "7|id|type", "1||type", "1|id|", "|id|type"] {
            XCTAssertNil(QueueEntry(member: member), member)
        }
    }
}

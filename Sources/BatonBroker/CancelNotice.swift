/// One attempt a worker must abort, as its cancel list holds it:
/// `<task id>|<attempt>`. A bare task id (written before attempts were
/// named) aborts whatever attempt of the task runs.
public struct CancelNotice: Sendable, Hashable {
    public var taskID: String
    public var attempt: Int?

    public init(taskID: String, attempt: Int?) {
        self.taskID = taskID
        self.attempt = attempt
    }

    public init(member: String) {
        if let bar = member.lastIndex(of: "|"), let attempt = Int(member[member.index(after: bar)...]) {
            self.init(taskID: String(member[..<bar]), attempt: attempt)
        } else {
            self.init(taskID: member, attempt: nil)
        }
    }

    public var member: String { self.attempt.map { "\(self.taskID)|\($0)" } ?? self.taskID }

    /// Whether it names this running attempt.
    public func matches(taskID: String, attempt: Int) -> Bool {
        self.taskID == taskID && (self.attempt ?? attempt) == attempt
    }
}

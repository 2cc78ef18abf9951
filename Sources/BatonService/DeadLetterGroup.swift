import BatonModel
import Foundation

/// Dead letters that failed the same way: one type, one terminal status, one
/// error (its first `errorLength` characters, so that long messages differing
/// only in their tails still group).
public struct DeadLetterGroup: Sendable, Equatable {
    public static let errorLength = 300
    /// Task ids kept per group, newest first.
    public static let sampleSize = 20

    public var taskType: String
    public var status: TaskStatus
    public var error: String
    public var count: Int
    public var lastAt: Date
    public var taskIDs: [String]

    /// What a task's error is grouped by.
    public static func key(_ error: String) -> String { String(error.prefix(Self.errorLength)) }

    /// Groups dead letters given newest first, largest group first (then newest).
    public static func group(_ letters: [(taskID: String, taskType: String, status: TaskStatus, error: String, at: Date)]) -> [DeadLetterGroup] {
        struct Key: Hashable {
            var taskType: String
            var status: TaskStatus
            var error: String
        }
        var groups: [Key: DeadLetterGroup] = [:]
        for letter in letters {
            let key = Key(taskType: letter.taskType, status: letter.status, error: Self.key(letter.error))
            if var group = groups[key] {
                group.count += 1
                if letter.at > group.lastAt { group.lastAt = letter.at }
                if group.taskIDs.count < Self.sampleSize { group.taskIDs.append(letter.taskID) }
                groups[key] = group
            } else {
                groups[key] = DeadLetterGroup(
                    taskType: key.taskType, status: key.status, error: key.error, count: 1, lastAt: letter.at, taskIDs: [letter.taskID]
                )
            }
        }
        return groups.values.sorted { ($0.count, $0.lastAt) > ($1.count, $1.lastAt) }
    }
}

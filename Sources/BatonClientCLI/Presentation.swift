import BatonClient
import BatonProto
import Foundation
import SwiftProtobuf

/// "queued", "failed", …: the status as typed and shown.
func statusName(_ status: Baton_V1_TaskStatus) -> String {
    String(describing: status).lowercased()
}

func statusCell(_ status: Baton_V1_TaskStatus) -> TextTable.Cell {
    let tint: TextTable.Tint
    switch status {
    case .succeeded: tint = .green
    case .failed, .timeout: tint = .red
    case .cancelled: tint = .dim
    case .running: tint = .blue
    case .retrying: tint = .yellow
    default: tint = .plain
    }
    return TextTable.Cell(statusName(status), tint)
}

func taskTable(_ tasks: [Baton_V1_Task], now: Date = Date()) -> TextTable {
    var table = TextTable(header: ["ID", "TYPE", "STATUS", "PRI", "ATTEMPT", "CREATED", "WORKER", "ERROR"], rightAligned: [4])
    for task in tasks {
        let error = task.error.replacingOccurrences(of: "\n", with: " ")
        table.append([
            TextTable.Cell(task.taskID), TextTable.Cell(task.taskType), statusCell(task.status),
            TextTable.Cell(task.priority == .high ? "high" : "-", task.priority == .high ? .yellow : .dim),
            TextTable.Cell("\(task.attempt)/\(task.maxRetries + 1)"),
            TextTable.Cell(TimeText.relative(task.createdAt.date, now: now), .dim),
            TextTable.Cell(task.workerID.isEmpty ? "-" : task.workerID, .dim),
            TextTable.Cell(error.count > 60 ? String(error.prefix(59)) + "…" : error, .red),
        ])
    }
    return table
}

/// One line: what `watch` prints at each change.
func summary(_ task: Baton_V1_Task, colour: Bool) -> String {
    let status = statusCell(task.status)
    var parts = [task.taskID, task.taskType, colour ? status.painted : status.text, "attempt \(task.attempt)/\(task.maxRetries + 1)"]
    if !task.workerID.isEmpty { parts.append("worker \(task.workerID)") }
    if !task.result.isEmpty { parts.append("result \(task.result)") }
    if !task.error.isEmpty { parts.append("error \(task.error)") }
    return parts.joined(separator: "  ")
}

/// Every field, one per line, times absolute and relative.
func detail(_ task: Baton_V1_Task, colour: Bool, now: Date = Date()) -> String {
    func time(_ stamp: Google_Protobuf_Timestamp, present: Bool) -> String {
        present ? "\(TimeText.absolute(stamp.date))  (\(TimeText.relative(stamp.date, now: now)))" : "-"
    }
    let status = statusCell(task.status)
    var lines: [(String, String)] = [
        ("id", task.taskID),
        ("type", task.taskType),
        ("status", colour ? status.painted : status.text),
        ("priority", task.priority == .high ? "high" : "normal"),
        ("attempt", "\(task.attempt) of \(task.maxRetries + 1)"),
        ("timeout", "\(task.timeoutSeconds)s"),
        ("worker", task.workerID.isEmpty ? "-" : task.workerID),
        ("created", time(task.createdAt, present: task.hasCreatedAt)),
        ("started", time(task.startedAt, present: task.hasStartedAt)),
        ("finished", time(task.finishedAt, present: task.hasFinishedAt)),
    ]
    if task.hasRunAt { lines.append(("run at", time(task.runAt, present: true))) }
    if !task.idempotencyKey.isEmpty { lines.append(("key", task.idempotencyKey)) }
    if !task.scheduleID.isEmpty { lines.append(("schedule", task.scheduleID)) }
    if task.hasScheduledFor { lines.append(("fire time", time(task.scheduledFor, present: true))) }
    if !task.dependsOn.isEmpty {
        lines.append(("needs", task.dependsOn.joined(separator: ", ") + (task.waitingOn > 0 ? "  (waiting on \(task.waitingOn))" : "")))
    }
    if !task.blockedBy.isEmpty { lines.append(("blocked", "by \(task.blockedBy)")) }
    for (key, value) in task.payload.sorted(by: { $0.key < $1.key }) { lines.append(("payload", "\(key)=\(value)")) }
    if task.hasArgs { lines.append(("args", ArgumentsText.text(task.args))) }
    if !task.result.isEmpty { lines.append(("result", task.result)) }
    if !task.error.isEmpty { lines.append(("error", colour ? TextTable.Cell(task.error, .red).painted : task.error)) }
    return lines.map { "\($0.0.padding(toLength: 9, withPad: " ", startingAt: 0)) \($0.1)" }.joined(separator: "\n")
}

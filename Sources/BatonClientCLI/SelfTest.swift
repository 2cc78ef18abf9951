import ArgumentParser
import BatonClient
import BatonProto
import Foundation

/// The original client's eight checks, PASS/FAIL with timings.
struct SelfTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "test", abstract: "Run the eight end-to-end checks (the default).")
    @OptionGroup var server: ServerOptions
    @Option(help: "Seconds to wait for tasks to finish.") var timeout = 30.0

    func run() async throws {
        let timeout = Duration.seconds(self.timeout)
        let failures = try await self.server.connect { client in
            var failures = 0
            func check(_ name: String, _ body: () async throws -> String) async {
                let started = ContinuousClock.now
                do {
                    let detail = try await body()
                    print("PASS  \(name)  (\((ContinuousClock.now - started).formatted(.units(allowed: [.milliseconds]))))  \(detail)")
                } catch {
                    failures += 1
                    print("FAIL  \(name)  (\((ContinuousClock.now - started).formatted(.units(allowed: [.milliseconds]))))  \(error)")
                }
            }
            var normalID = ""
            await check("create a normal task") {
                // `sleep` logs a line, so its attempt's lines are written (a quiet success writes none).
                let task = try await client.createTask(type: "sleep", payload: ["ms": "5"])
                guard task.status == .queued, task.priority == .normal else { throw CLIError("unexpected \(summary(task, colour: false))") }
                normalID = task.taskID
                return task.taskID
            }
            await check("create a high-priority task") {
                let task = try await client.createTask(type: "noop", priority: .high)
                guard task.priority == .high else { throw CLIError("unexpected \(summary(task, colour: false))") }
                return task.taskID
            }
            await check("batch create") {
                let tasks = try await client.batchCreate((0..<10).map { index in .with { $0.taskType = "noop"; $0.payload = ["n": "\(index)"] } })
                guard tasks.count == 10 else { throw CLIError("\(tasks.count) tasks") }
                return "10 tasks"
            }
            await check("query a task") {
                let task = try await client.getTask(normalID)
                guard task.taskID == normalID else { throw CLIError("wrong task") }
                return "\(task.status)"
            }
            await check("create and cancel") {
                let task = try await client.createTask(type: "sleep", payload: ["ms": "30000"])
                let cancelled = try await client.cancelTask(task.taskID, reason: "client test")
                guard cancelled.status == .cancelled else { throw CLIError("status \(cancelled.status)") }
                return cancelled.taskID
            }
            await check("wait for completion") {
                let task = try await client.waitForTask(normalID, timeout: timeout)
                guard task.status == .succeeded else { throw CLIError("ended \(summary(task, colour: false))") }
                return "result \(task.result)"
            }
            await check("read logs") {
                // Workers write log lines in batches, within 50 ms of the event.
                var lines = try await client.logs(normalID)
                for _ in 0..<40 where !lines.contains(where: { $0.message.hasPrefix("succeeded") }) {
                    try await Task.sleep(for: .milliseconds(50))
                    lines = try await client.logs(normalID)
                }
                guard lines.contains(where: { $0.message.hasPrefix("succeeded") }) else {
                    throw CLIError("no success line in \(lines.map(\.message))")
                }
                return "\(lines.count) lines"
            }
            await check("stats") {
                let stats = try await client.stats()
                guard !stats.leaderNodeID.isEmpty, !stats.workers.isEmpty else { throw CLIError("no leader or no workers") }
                return "leader \(stats.leaderNodeID) epoch \(stats.leaderEpoch), \(stats.workers.count) workers"
            }
            return failures
        }
        print(failures == 0 ? "8 passed, 0 failed" : "\(8 - failures) passed, \(failures) failed")
        if failures > 0 { throw ExitCode(1) }
    }
}

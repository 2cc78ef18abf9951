import ArgumentParser
import BatonModel
import BatonMySQL
import BatonScheduler
import BatonStore
import Foundation

/// `baton-bench schedules`: the leader's schedule firer alone with many
/// schedules `@every 1s`: how late each fire lands (task created_at −
/// scheduled_for), whether every second fired once per schedule, and the
/// CPU it costs (this process: the firer and its Redis pushes; MariaDB, when
/// its pid file is given).
struct ScheduleBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "schedules", abstract: "Schedule fire lateness and cost with many schedules.")

    @OptionGroup var stores: StoreOptions
    @Option(help: "Schedules, each `@every 1s`.") var schedules = 1000
    @Option(help: "Seconds to let them fire.") var seconds = 20
    @Option(help: "MariaDB's pid file, to count its CPU too.") var mysqlPidFile = ".run/mysql/mysqld.pid"

    func run() async throws {
        let env = try await BenchEnvironment.make(stores: self.stores)
        let store = ScheduleStore(mysql: env.mysql)
        let prefix = "bench-\(UUID().uuidString.prefix(8))"
        let now = env.broker.clock.now().roundedToMicroseconds
        let first = Date(timeIntervalSince1970: (now.timeIntervalSince1970 + 2).rounded(.down))
        for index in 0..<self.schedules {
            try await store.put(
                ScheduleRecord(
                    scheduleID: "\(prefix)-\(index)", cron: "@every 1s", taskType: env.taskType, nextFireAt: first, createdAt: now, updatedAt: now
                )
            )
        }
        let firer = ScheduleFirer(schedules: store, configs: env.configs, broker: env.broker, logger: env.logger)
        let term = LeaderState.Term(epoch: 1, lockValue: "bench|1")
        let mysqlPid = (try? String(contentsOfFile: self.mysqlPidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let cpuBefore = (own: Self.ownCPU(), mysql: mysqlPid.flatMap(Self.processCPU))
        let started = ContinuousClock.now
        let running = Task { try await firer.run(term: term) }
        // When each second's fires were all queued (committed and pushed):
        // the queue's length sampled every 5 ms against the cluster clock.
        let queue = env.broker.keys.normalQueue
        let sampling = Task { () -> [(at: Date, length: Int)] in
            var samples: [(at: Date, length: Int)] = []
            while !Task.isCancelled {
                let length = Int((try? await env.redis.send("LLEN", queue).int) ?? 0)
                samples.append((env.broker.clock.now(), length))
                try? await Task.sleep(for: .milliseconds(5))
            }
            return samples
        }
        try await Task.sleep(until: started + .seconds(2 + self.seconds))
        running.cancel()
        _ = await running.result
        sampling.cancel()
        let samples = await sampling.value
        let wall = Double((ContinuousClock.now - started).components.seconds)
        let own = Self.ownCPU() - cpuBefore.own
        var mysql: Double?
        if let after = mysqlPid.flatMap(Self.processCPU), let before = cpuBefore.mysql { mysql = after - before }

        let rows = try await env.mysql.query(
            "SELECT schedule_id, scheduled_for, created_at FROM task WHERE task_type = ? AND schedule_id IS NOT NULL", [.string(env.taskType)]
        )
        var lateness = Latencies()
        var perSchedule: [String: Set<Int64>] = [:]
        for row in rows {
            guard let id = row.string("schedule_id"), let at = row.date("scheduled_for"), let created = row.date("created_at") else { continue }
            lateness.record(.microseconds(Int64(created.timeIntervalSince(at) * 1e6)))
            perSchedule[id, default: []].insert(Int64(at.timeIntervalSince1970))
        }
        // Every second from the first fire to the last one every schedule
        // reached (the run stops mid-pass).
        let last = perSchedule.count < self.schedules ? 0 : perSchedule.values.compactMap { $0.max() }.min() ?? 0
        let expected = Int(last - Int64(first.timeIntervalSince1970)) + 1
        let gaps = perSchedule.values.reduce(0) { $0 + (expected - $1.filter { $0 <= last }.count) } + (self.schedules - perSchedule.count) * expected
        let late = lateness.samples.filter { $0 > .seconds(1) }.count
        var queued = Latencies()
        for second in 0..<expected {
            let due = first.addingTimeInterval(Double(second))
            guard let done = samples.first(where: { $0.length >= (second + 1) * self.schedules }) else { continue }
            queued.record(.microseconds(Int64(done.at.timeIntervalSince(due) * 1e6)))
        }
        print("\nbaton-bench schedules (\(self.schedules) schedules @every 1s, \(self.seconds) s)")
        print("fires \(rows.count) (\(expected) seconds × \(self.schedules)); missing \(gaps); later than 1 s: \(late)")
        print("created_at − fire time: \(lateness.summary)  max \(Latencies.ms(lateness.samples.max() ?? .zero)) ms")
        print("a second's \(self.schedules) fires all queued after: \(queued.summary)  max \(Latencies.ms(queued.samples.max() ?? .zero)) ms")
        print(String(format: "CPU: firer process %.3f cores", own / wall) + (mysql.map { String(format: ", MariaDB %.3f cores", $0 / wall) } ?? ""))
        print(
            "BENCH schedules fires_per_s=\(Int(Double(rows.count) / Double(self.seconds))) all_queued_p50_ms=\(Latencies.ms(queued.percentile(50))) "
                + "all_queued_p99_ms=\(Latencies.ms(queued.percentile(99))) missing=\(gaps) firer_cores=\(String(format: "%.3f", own / wall))"
        )
        try await env.mysql.execute("DELETE FROM schedule_fire WHERE schedule_id LIKE ?", [.string(prefix + "-%")])
        try await env.mysql.execute("DELETE FROM schedule WHERE schedule_id LIKE ?", [.string(prefix + "-%")])
        try await env.cleanUp()
    }

    /// CPU seconds this process used so far.
    static func ownCPU() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// CPU seconds a process used so far, from /proc (utime + stime, fields 14 and 15).
    static func processCPU(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

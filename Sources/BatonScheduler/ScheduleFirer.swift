import BatonBroker
import BatonCron
import BatonModel
import BatonStore
import Foundation
import Logging
import Metrics

/// Fires due schedules: for each, the tasks of its due fire times and its
/// next fire time, written in one fenced MySQL transaction (at most one
/// task per fire time, whichever leader writes it: `ScheduleStore.fire`),
/// then queued in Redis. Between passes it sleeps until the earliest next
/// fire, and at most `maxIdle`, so a schedule put on any node fires on time
/// without a wake signal: a pass costs one query on the head of an index,
/// whatever the number of schedules.
public struct ScheduleFirer: LeaderLoop {
    public struct Configuration: Sendable {
        /// The longest sleep between passes (a new schedule's first fire is
        /// at most this late).
        public var maxIdle: Duration = .milliseconds(250)
        /// How late a fire time may be and still count as on time (see `FirePlan`).
        public var grace: TimeInterval = 5
        /// Schedules fired per pass before the next pass reads again.
        public var batchSize = 1000
        /// Transactions in flight at once, each firing a share of a pass's
        /// schedules: many schedules due at one instant fire together.
        public var concurrency = 4

        public init() {}
    }

    public let name = "schedule-firer"
    private let schedules: ScheduleStore
    private let configs: TaskConfigStore
    private let broker: RedisBroker
    private let configuration: Configuration
    private let logger: Logger

    public init(
        schedules: ScheduleStore, configs: TaskConfigStore, broker: RedisBroker, configuration: Configuration = .init(), logger: Logger
    ) {
        self.schedules = schedules
        self.configs = configs
        self.broker = broker
        self.configuration = configuration
        self.logger = logger
    }

    public func run(term: LeaderState.Term) async throws {
        while !Task.isCancelled {
            let fired = try await self.fireDue(term: term)
            if fired >= self.configuration.batchSize { continue }
            var wait = self.configuration.maxIdle
            if let next = try await self.schedules.nextDue() {
                let until = next.timeIntervalSince(self.broker.clock.now())
                wait = min(wait, .milliseconds(Int64(max(0, until * 1000))))
            }
            guard wait >= .milliseconds(1) else { continue }
            try await Task.sleep(for: wait)
        }
    }

    /// One pass: fires every schedule due now (up to the batch size), by the
    /// cluster's clock, a chunk of schedules per transaction and per Redis
    /// push, chunks in parallel. Returns how many schedules it handled.
    @discardableResult
    public func fireDue(term: LeaderState.Term) async throws -> Int {
        let now = self.broker.clock.now().roundedToMicroseconds
        let due = try await self.schedules.due(now: now, limit: self.configuration.batchSize)
        guard !due.isEmpty else { return 0 }
        var configs: [String: TaskConfigRecord?] = [:]
        for type in Set(due.map(\.taskType)) { configs[type] = try await self.configs.config(type) }
        let fires = due.map { self.plan($0, now: now, config: configs[$0.taskType] ?? nil) }
        let chunk = max(1, (fires.count + self.configuration.concurrency - 1) / self.configuration.concurrency)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for start in stride(from: 0, to: fires.count, by: chunk) {
                let part = Array(fires[start..<min(start + chunk, fires.count)])
                group.addTask { try await self.fire(part, now: now, term: term) }
            }
            try await group.waitForAll()
        }
        return due.count
    }

    /// What a due schedule's fire creates and where it goes next. An
    /// expression that no longer parses (refused when put; a zone withdrawn
    /// from the system's database since) stops firing: next_fire_at NULL.
    private func plan(_ schedule: ScheduleRecord, now: Date, config: TaskConfigRecord?) -> ScheduleStore.Fire {
        guard let due = schedule.nextFireAt else { return ScheduleStore.Fire(schedule: schedule, tasks: [], next: nil) }
        do {
            let cron = try CronSchedule(cron: schedule.cron, timeZoneName: schedule.timeZone)
            let plan = FirePlan(due: due, now: now, misfire: schedule.misfire, grace: self.configuration.grace, nextFire: cron.nextFire(after:))
            if plan.fireTimes.isEmpty {
                Counter(label: "baton_schedule_fires_skipped_total").increment()
            }
            return ScheduleStore.Fire(
                schedule: schedule, tasks: plan.fireTimes.map { schedule.task(scheduledFor: $0, config: config, now: now) }, next: plan.next
            )
        } catch {
            self.logger.error("schedule's expression no longer parses; it stops firing", metadata: ["schedule_id": "\(schedule.scheduleID)", "error": "\(error)"])
            return ScheduleStore.Fire(schedule: schedule, tasks: [], next: nil)
        }
    }

    private func fire(_ fires: [ScheduleStore.Fire], now: Date, term: LeaderState.Term) async throws {
        let answers = try await self.schedules.fire(fires, fence: term.fence)
        var created: [TaskRecord] = []
        var cancelled: [TaskRecord] = []
        for (fire, answer) in zip(fires, answers) {
            guard let answer else { continue }  // changed since read (edited, paused, fired by an earlier term)
            for note in answer.notes {
                self.logger.info("schedule fire", metadata: ["schedule_id": "\(fire.schedule.scheduleID)", "note": "\(note)"])
            }
            if fire.tasks.count > answer.created.count {
                Counter(label: "baton_schedule_fires_skipped_total").increment(by: fire.tasks.count - answer.created.count)
            }
            created += answer.created
            cancelled += answer.cancelled
        }
        await self.signalCancelled(cancelled)
        guard !created.isEmpty else { return }
        let lateness = Timer(label: "baton_schedule_fire_lateness_seconds")
        for task in created {
            if let at = task.scheduledFor { lateness.recordNanoseconds(Int64(max(0, now.timeIntervalSince(at)) * 1e9)) }
        }
        Counter(label: "baton_schedule_fires_total").increment(by: created.count)
        // Committed, so pushed even when the term is ending (this loop
        // cancelled): an unstructured task does not inherit the
        // cancellation, and a push cut short would leave the tasks to the
        // reconciler's sweep, 30 s later.
        let push = Task { [broker = self.broker, created] in try await broker.enqueue(created, now: now) }
        do {
            try await push.value
        } catch {
            // Committed in MySQL, so never fired again: the reconciler
            // queues them once Redis answers (as any task whose push failed).
            self.logger.warning(
                "scheduled tasks created but not queued; the reconciler will queue them",
                metadata: ["tasks": "\(created.count)", "error": "\(error)"]
            )
        }
    }

    /// Tasks a fire cancelled (overlap cancel-previous) leave their queues,
    /// and a running one's worker aborts it, as after CancelTask. Committed
    /// before this: a signal that fails leaves a running attempt to its
    /// timeout, and its outcome is not written over the cancel.
    private func signalCancelled(_ cancelled: [TaskRecord]) async {
        for task in cancelled {
            do {
                try await self.broker.cancel(task)
            } catch {
                self.logger.warning("cancel signal not sent", metadata: ["task_id": "\(task.taskID)", "error": "\(error)"])
            }
        }
    }
}

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
        public var batchSize = 100

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
    /// cluster's clock. Returns how many schedules it handled.
    @discardableResult
    public func fireDue(term: LeaderState.Term) async throws -> Int {
        let now = self.broker.clock.now().roundedToMicroseconds
        let due = try await self.schedules.due(now: now, limit: self.configuration.batchSize)
        for schedule in due {
            try await self.fire(schedule, now: now, term: term)
        }
        return due.count
    }

    private func fire(_ schedule: ScheduleRecord, now: Date, term: LeaderState.Term) async throws {
        guard let due = schedule.nextFireAt else { return }
        let plan: FirePlan
        do {
            let cron = try CronSchedule(cron: schedule.cron, timeZoneName: schedule.timeZone)
            plan = FirePlan(due: due, now: now, misfire: schedule.misfire, grace: self.configuration.grace, nextFire: cron.nextFire(after:))
        } catch {
            // Refused when it was put; a zone withdrawn from the system's
            // database since. It stops firing (next_fire_at NULL) and says why.
            self.logger.error("schedule's expression no longer parses; it stops firing", metadata: ["schedule_id": "\(schedule.scheduleID)", "error": "\(error)"])
            _ = try await self.schedules.fire(schedule, tasks: [], next: nil, now: now, fence: term.fence)
            return
        }
        let config = try await self.configs.config(schedule.taskType)
        let tasks = plan.fireTimes.map { schedule.task(scheduledFor: $0, config: config, now: now) }
        guard let fired = try await self.schedules.fire(schedule, tasks: tasks, next: plan.next, now: now, fence: term.fence) else {
            return  // changed since read (edited, paused, fired by an earlier term)
        }
        for note in fired.notes {
            self.logger.info("schedule fire", metadata: ["schedule_id": "\(schedule.scheduleID)", "note": "\(note)"])
        }
        if plan.fireTimes.count > fired.created.count || plan.fireTimes.isEmpty && due < now.addingTimeInterval(-self.configuration.grace) {
            Counter(label: "baton_schedule_fires_skipped_total").increment(by: max(1, plan.fireTimes.count - fired.created.count))
        }
        guard !fired.created.isEmpty else { return }
        for task in fired.created {
            if let at = task.scheduledFor {
                Timer(label: "baton_schedule_fire_lateness_seconds").recordNanoseconds(Int64(max(0, now.timeIntervalSince(at)) * 1e9))
            }
        }
        Counter(label: "baton_schedule_fires_total").increment(by: fired.created.count)
        do {
            try await self.broker.enqueue(fired.created, now: now)
        } catch {
            // Committed in MySQL, so never fired again: the reconciler
            // queues them once Redis answers (as any task whose push failed).
            self.logger.warning(
                "scheduled tasks created but not queued; the reconciler will queue them",
                metadata: ["schedule_id": "\(schedule.scheduleID)", "tasks": "\(fired.created.count)", "error": "\(error)"]
            )
        }
    }
}

import BatonBroker
import BatonScheduler
import BatonStore
import Foundation
import Logging
import Tracing

/// The loops a leader runs while it leads, each one job (asynq's forwarder,
/// recoverer, janitor): dispatch, promotion of delayed tasks, schedules,
/// recovery from dead workers, timeouts and Redis data loss, the count
/// audit, retention. Built here for the node and for harnesses that run a
/// few of them under a term of their own.
public struct LeaderLoops: Sendable {
    public struct Configuration: Sendable {
        public var dispatcher = Dispatcher.Configuration()
        /// The longest the promoter sleeps when nothing is due.
        public var promoterIdle: Duration = .milliseconds(250)
        public var deadWorkers = DeadWorkerRecoverer.Configuration()
        public var retention = RetentionJanitor.Configuration()
        /// How long the restore after a Redis data loss waits first: one
        /// heartbeat TTL, by when every attempt that began before the loss
        /// has its start or outcome in MySQL (the deferred start).
        public var restoreDelay: Duration = .seconds(9)

        public init() {}
    }

    public let dispatcher: Dispatcher
    public let promoter: DelayedPromoter
    public let scheduleFirer: ScheduleFirer
    public let deadWorkers: DeadWorkerRecoverer
    public let timeouts: TimeoutRecoverer
    public let reconciler: Reconciler
    public let countAudit: CountAudit
    public let janitor: RetentionJanitor

    /// `configs` is read uncached where a stale type would misroute work
    /// (dispatch, schedules, retention); the timeout recoverer reads the cache.
    public init(
        broker: RedisBroker, tasks: TaskStore, configs: TaskConfigStore, configCache: TaskConfigCache, schedules: ScheduleStore,
        configuration: Configuration = .init(), tracer: (any Tracer)? = nil, logger: Logger
    ) {
        self.dispatcher = Dispatcher(
            broker: broker, tasks: tasks, configs: configs, configuration: configuration.dispatcher, tracer: tracer, logger: logger
        )
        self.promoter = DelayedPromoter(broker: broker, maxIdle: configuration.promoterIdle)
        self.scheduleFirer = ScheduleFirer(schedules: schedules, configs: configs, broker: broker, logger: logger)
        self.deadWorkers = DeadWorkerRecoverer(broker: broker, tasks: tasks, configuration: configuration.deadWorkers, logger: logger)
        self.timeouts = TimeoutRecoverer(broker: broker, tasks: tasks, configs: configCache, logger: logger)
        var reconciler = Reconciler.Configuration()
        reconciler.restoreDelay = configuration.restoreDelay
        self.reconciler = Reconciler(broker: broker, tasks: tasks, configuration: reconciler, logger: logger)
        self.countAudit = CountAudit(tasks: tasks, logger: logger)
        self.janitor = RetentionJanitor(
            tasks: tasks, configs: configs, schedules: schedules, clock: { broker.clock.now() }, configuration: configuration.retention, logger: logger
        )
    }

    /// Every loop, as `LeaderServices` runs them.
    public var all: [any LeaderLoop] {
        [self.dispatcher, self.promoter, self.scheduleFirer, self.deadWorkers, self.timeouts, self.reconciler, self.countAudit, self.janitor]
    }
}

import BatonBroker
import BatonModel
import BatonStore
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// Samples queue depths, live workers, the backlog per type and the dead
/// letters into gauges every few seconds, so a scrape of /metrics costs no
/// Redis or MySQL call and no task pays for them. Per sample: the snapshot's
/// three Redis round trips, `backlogSample`'s two (bounded: the head of each
/// queue), one primary-key read of the head entries' rows and one read of
/// the finished counts (deploy/README.md: what each gauge means).
struct ClusterGauges: Service {
    let broker: RedisBroker
    let tasks: TaskStore
    let interval: Duration
    let logger: Logger

    func run() async throws {
        let high = Gauge(label: "baton_queue_depth", dimensions: [("queue", "high")])
        let normal = Gauge(label: "baton_queue_depth", dimensions: [("queue", "normal")])
        let delayed = Gauge(label: "baton_queue_depth", dimensions: [("queue", "delayed")])
        let workers = Gauge(label: "baton_live_workers")
        // Configured types no live worker runs: their tasks wait (alert on > 0).
        let unserved = Gauge(label: "baton_unserved_task_types")
        let deadLetters = [TaskStatus.failed, .timeout].map { status in
            (status, Gauge(label: "baton_dead_letters", dimensions: [("status", status == .failed ? "failed" : "timeout")]))
        }
        await cancelWhenGracefulShutdown {
            var types = TypeGauges()
            // The last unserved types read: a failed snapshot is no news, and
            // must not read as "every type served" (it would reset the
            // unserved alert's `for` clock).
            var unservedTypes: Set<String> = []
            while !Task.isCancelled {
                do {
                    let snapshot = try await self.broker.snapshot()
                    high.record(snapshot.queueHigh)
                    normal.record(snapshot.queueNormal)
                    delayed.record(snapshot.queueDelayed)
                    workers.record(snapshot.workers.count)
                    unserved.record(snapshot.unservedTypes.count)
                    unservedTypes = Set(snapshot.unservedTypes.map(\.taskType))
                } catch {
                    self.logger.debug("cluster gauges not sampled", metadata: ["error": "\(error)"])
                }
                do {
                    let sample = try await self.broker.backlogSample()
                    let since = try await self.tasks.waitingSince(sample.types.values.flatMap(\.heads))
                    types.record(sample, since: since, unserved: unservedTypes, now: self.broker.clock.now())
                    let finished = try await self.tasks.finishedCountsByTenant()
                    for (status, gauge) in deadLetters { gauge.record(finished.values.reduce(0) { $0 + ($1[status] ?? 0) }) }
                } catch {
                    self.logger.debug("backlog gauges not sampled", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: self.interval)
            }
        }
    }
}

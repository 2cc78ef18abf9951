import BatonBroker
import Logging
import Metrics
import ServiceLifecycle

/// Samples queue depths and live workers into gauges every few seconds, so
/// a scrape of /metrics costs no Redis or MySQL call.
struct ClusterGauges: Service {
    let broker: RedisBroker
    let interval: Duration

    func run() async throws {
        let high = Gauge(label: "baton_queue_depth", dimensions: [("queue", "high")])
        let normal = Gauge(label: "baton_queue_depth", dimensions: [("queue", "normal")])
        let delayed = Gauge(label: "baton_queue_depth", dimensions: [("queue", "delayed")])
        let workers = Gauge(label: "baton_live_workers")
        // Configured types no live worker runs: their tasks wait (alert on > 0).
        let unserved = Gauge(label: "baton_unserved_task_types")
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if let snapshot = try? await self.broker.snapshot() {
                    high.record(snapshot.queueHigh)
                    normal.record(snapshot.queueNormal)
                    delayed.record(snapshot.queueDelayed)
                    workers.record(snapshot.workers.count)
                    unserved.record(snapshot.unservedTypes.count)
                }
                try? await Task.sleep(for: self.interval)
            }
        }
    }
}

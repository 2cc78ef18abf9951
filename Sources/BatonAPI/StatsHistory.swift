import BatonBroker
import BatonModel
import BatonStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The last 15 minutes of the cluster as this node saw it, one sample per
/// interval: what the dashboard's charts draw. One stats read per interval
/// whoever watches, so an open dashboard costs the stores nothing more.
public final class StatsHistory: Service, Sendable {
    public struct Sample: Sendable, Equatable {
        public var at: Date
        /// Cumulative counts (every tenant's).
        public var succeeded: Int64
        public var failed: Int64
        public var queueHigh: Int64
        public var queueNormal: Int64
        public var queueDelayed: Int64
        /// Tasks that reached a terminal status per second since the previous sample.
        public var throughput: Double
        /// Created → started of the attempts the cluster's workers started in
        /// the interval (each node's figure, combined: `Summary.combined`).
        public var startLatency: LatencyWindow.Summary?
    }

    public let interval: Duration
    public let capacity: Int
    private let nodeID: String
    private let tasks: TaskStore
    private let broker: RedisBroker
    private let startLatency: LatencyWindow?
    private let logger: Logger
    private let samples = Mutex<[Sample]>([])
    private let finishedBefore = Mutex<(at: Date, finished: Int64)?>(nil)

    public init(
        nodeID: String, tasks: TaskStore, broker: RedisBroker, startLatency: LatencyWindow?, interval: Duration = .seconds(10),
        span: Duration = .seconds(900), logger: Logger
    ) {
        self.nodeID = nodeID
        self.tasks = tasks
        self.broker = broker
        self.startLatency = startLatency
        self.interval = interval
        self.capacity = max(1, Int(span / interval))
        self.logger = logger
    }

    /// Oldest first.
    public var recent: [Sample] { self.samples.withLock { $0 } }

    /// Ends (without an error, so the node exits 0) at graceful shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.interval)
                if !Task.isCancelled { await self.sample() }
            }
        }
    }

    func sample() async {
        let latency = await self.clusterStartLatency()
        do {
            async let counts = self.tasks.countsByStatus(tenant: nil)
            async let snapshot = self.broker.snapshot()
            let (byStatus, cluster) = try await (counts, snapshot)
            let now = Date()
            let finished = TaskStatus.allCases.filter(\.isTerminal).reduce(Int64(0)) { $0 + (byStatus[$1] ?? 0) }
            let throughput = self.finishedBefore.withLock { before in
                defer { before = (now, finished) }
                guard let before, now > before.at else { return 0.0 }
                return max(0, Double(finished - before.finished) / now.timeIntervalSince(before.at))
            }
            let sample = Sample(
                at: now, succeeded: byStatus[.succeeded] ?? 0, failed: (byStatus[.failed] ?? 0) + (byStatus[.timeout] ?? 0),
                queueHigh: cluster.queueHigh, queueNormal: cluster.queueNormal, queueDelayed: cluster.queueDelayed,
                throughput: throughput, startLatency: latency
            )
            self.samples.withLock { samples in
                samples.append(sample)
                if samples.count > self.capacity { samples.removeFirst(samples.count - self.capacity) }
            }
        } catch {
            self.logger.debug("history sample skipped", metadata: ["error": "\(error)"])
        }
    }

    /// This node's figure for the interval, shared; then every node's that
    /// is recent, combined (this node's alone when Redis does not answer).
    private func clusterStartLatency() async -> LatencyWindow.Summary? {
        let local = self.startLatency?.drain()
        do {
            if let local { try await self.broker.publishStartLatency(nodeID: self.nodeID, local, staleAfter: self.interval * 2) }
            let all = try await self.broker.startLatencies(within: self.interval * 2)
            return LatencyWindow.Summary.combined(all.values.map(\.summary))
        } catch {
            return local
        }
    }
}

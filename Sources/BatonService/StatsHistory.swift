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
/// Finished counts and throughput are kept per tenant too, so a tenant's
/// caller sees its own (`recent(scope:)`), as GetStats shows it its own
/// counts; queue depths and start latency are the cluster's, shared.
public final class StatsHistory: Service, Sendable {
    /// One tenant's finished tasks (or every tenant's).
    public struct Finished: Sendable, Equatable {
        public var succeeded: Int64 = 0
        /// FAILED and TIMEOUT.
        public var failed: Int64 = 0
        /// Tasks that reached a terminal status per second since the previous sample.
        public var throughput: Double = 0
    }

    public struct Sample: Sendable, Equatable {
        public var at: Date
        /// Cumulative counts (every tenant's, or one tenant's from `recent(scope:)`).
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
        /// The same finished figures per tenant (the `maxTenants` busiest).
        var tenants: [String: Finished] = [:]
    }

    /// Tenants whose figures one sample keeps at most (those with the most
    /// finished tasks): memory stays bounded whatever tokens name.
    public static let maxTenants = 1_000

    public let interval: Duration
    public let capacity: Int
    private let nodeID: String
    private let tasks: TaskStore
    private let broker: RedisBroker
    private let startLatency: LatencyWindow?
    private let logger: Logger
    private let samples = Mutex<[Sample]>([])
    /// Finished tasks per tenant at the previous sample, for throughput.
    private let finishedBefore = Mutex<(at: Date, finished: [String: Int64])?>(nil)

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

    /// Oldest first, every tenant's figures.
    public var recent: [Sample] { self.samples.withLock { $0 } }

    /// Oldest first, as `scope` may see them: every tenant's (nil, an
    /// admin's) or that tenant's finished figures (zero for a tenant with none).
    public func recent(scope: String?) -> [Sample] {
        let samples = self.recent
        guard let scope else { return samples }
        return samples.map { sample in
            let own = sample.tenants[scope] ?? Finished()
            var mine = sample
            mine.succeeded = own.succeeded
            mine.failed = own.failed
            mine.throughput = own.throughput
            mine.tenants = [:]
            return mine
        }
    }

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
            async let counts = self.tasks.finishedCountsByTenant()
            async let snapshot = self.broker.snapshot()
            let (byTenant, cluster) = try await (counts, snapshot)
            let now = Date()
            let finished = byTenant.mapValues { $0.values.reduce(0, +) }
            let elapsed = self.finishedBefore.withLock { before -> (seconds: Double, finished: [String: Int64])? in
                defer { before = (now, finished) }
                guard let before, now > before.at else { return nil }
                return (now.timeIntervalSince(before.at), before.finished)
            }
            // A tenant absent before had finished none then.
            func throughput(_ tenant: String?) -> Double {
                guard let elapsed else { return 0 }
                let (after, before) =
                    if let tenant { (finished[tenant] ?? 0, elapsed.finished[tenant] ?? 0) }
                    else { (finished.values.reduce(0, +), elapsed.finished.values.reduce(0, +)) }
                return max(0, Double(after - before) / elapsed.seconds)
            }
            func figures(_ counts: [TaskStatus: Int64], _ tenant: String?) -> Finished {
                Finished(
                    succeeded: counts[.succeeded] ?? 0, failed: (counts[.failed] ?? 0) + (counts[.timeout] ?? 0), throughput: throughput(tenant)
                )
            }
            let everyTenant = byTenant.values.reduce(into: [TaskStatus: Int64]()) { sum, counts in sum.merge(counts, uniquingKeysWith: +) }
            let total = figures(everyTenant, nil)
            let busiest = finished.sorted { ($0.value, $0.key) > ($1.value, $1.key) }.prefix(Self.maxTenants)
            var tenants: [String: Finished] = [:]
            for (tenant, _) in busiest { tenants[tenant] = figures(byTenant[tenant] ?? [:], tenant) }
            if finished.count > Self.maxTenants {
                self.logger.debug("history keeps the busiest tenants only", metadata: ["tenants": "\(finished.count)", "kept": "\(Self.maxTenants)"])
            }
            let sample = Sample(
                at: now, succeeded: total.succeeded, failed: total.failed,
                queueHigh: cluster.queueHigh, queueNormal: cluster.queueNormal, queueDelayed: cluster.queueDelayed,
                throughput: total.throughput, startLatency: latency, tenants: tenants
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

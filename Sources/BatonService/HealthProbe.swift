import BatonBroker
import BatonStore
import Logging
import Metrics
import NIOConcurrencyHelpers
import ServiceLifecycle

/// The node's health, from one background probe of MySQL and Redis every
/// `interval`: health Check, Watch and /ready read what it publishes, so
/// unauthenticated health traffic costs the stores nothing (it used to take
/// a connection from the pools heartbeats and lock renewal wait in, per call).
/// At most one probe is in flight; one late by more than `timeout` turns the
/// state NOT_SERVING without waiting for it to return.
public final class HealthProbe: Service, Sendable {
    private struct State {
        var serving: Bool
        var probeStarted: ContinuousClock.Instant?
        var subscribers: [Int: AsyncStream<Bool>.Continuation] = [:]
        var nextSubscriber = 0
        var probes = 0
    }

    private let check: @Sendable () async -> Bool
    private let interval: Duration
    private let timeout: Duration
    private let logger: Logger
    private let state: NIOLockedValueBox<State>
    private let probeCounter = Counter(label: "baton_health_probes_total")

    /// `initiallyServing`: what to answer before the first probe returns (a
    /// node that has just reached both stores may say true).
    public init(interval: Duration, timeout: Duration, initiallyServing: Bool = false, logger: Logger, check: @escaping @Sendable () async -> Bool) {
        self.check = check
        self.interval = interval
        self.timeout = timeout
        self.logger = logger
        self.state = NIOLockedValueBox(State(serving: initiallyServing))
    }

    /// Probes MySQL (`SELECT 1`) and Redis (`PING`), both must answer.
    public convenience init(tasks: TaskStore, broker: RedisBroker, interval: Duration, timeout: Duration, initiallyServing: Bool = false, logger: Logger) {
        self.init(interval: interval, timeout: timeout, initiallyServing: initiallyServing, logger: logger) {
            async let mysqlUp = tasks.ping()
            async let redisUp = broker.ping()
            let (mysqlOK, redisOK) = await (mysqlUp, redisUp)
            return mysqlOK && redisOK
        }
    }

    /// The last published state.
    public var serving: Bool { self.state.withLockedValue { $0.serving } }

    /// Probes started so far (each one MySQL and one Redis round trip).
    public var probes: Int { self.state.withLockedValue { $0.probes } }

    /// The current state, then each change, until the caller stops iterating.
    public func updates() -> AsyncStream<Bool> {
        let (stream, continuation) = AsyncStream.makeStream(of: Bool.self, bufferingPolicy: .bufferingNewest(1))
        let id = self.state.withLockedValue { state in
            let id = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[id] = continuation
            continuation.yield(state.serving)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLockedValue { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                var nextProbe = ContinuousClock.now
                while !Task.isCancelled {
                    let now = ContinuousClock.now
                    let inFlight = self.state.withLockedValue { $0.probeStarted }
                    if let started = inFlight {
                        // A hung probe keeps its place (no pile-up of probes);
                        // callers meanwhile hear NOT_SERVING.
                        if now - started > self.timeout { self.publish(false, reason: "probe overdue") }
                    } else if now >= nextProbe {
                        nextProbe = now + self.interval
                        self.state.withLockedValue {
                            $0.probeStarted = now
                            $0.probes += 1
                        }
                        self.probeCounter.increment()
                        group.addTask {
                            let up = await self.check()
                            self.finish(serving: up)
                        }
                    }
                    try? await Task.sleep(for: self.tick)
                }
            }
        }
    }

    /// Short enough to start probes on time and notice an overdue one early.
    private var tick: Duration { min(self.interval, self.timeout) / 4 }

    private func finish(serving: Bool) {
        self.state.withLockedValue { $0.probeStarted = nil }
        self.publish(serving, reason: serving ? "MySQL and Redis answer" : "MySQL or Redis does not answer")
    }

    private func publish(_ serving: Bool, reason: String) {
        let changed = self.state.withLockedValue { state in
            guard state.serving != serving else { return false }
            state.serving = serving
            for continuation in state.subscribers.values { continuation.yield(serving) }
            return true
        }
        if changed { self.logger.notice("health changed", metadata: ["serving": "\(serving)", "reason": "\(reason)"]) }
    }
}

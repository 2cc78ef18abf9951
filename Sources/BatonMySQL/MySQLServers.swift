import BatonPool
import Synchronization

/// The servers a client may connect to, in the order given. More than one
/// names the members of a multi-primary cluster (Galera), every one able to
/// serve every statement. A connection goes to the first member that answers,
/// in the order given, so every node given the same list works on the same
/// member while it lives (its locking reads then order against each other as
/// on one server; see docs/galera.md). A member that refused a connection is
/// tried last for `backoff`, so new connections do not keep paying a dead
/// member's connect timeout. Shared by one client's connections.
final class MySQLServers: Sendable {
    let endpoints: [ConnectionURL.Endpoint]
    private let backoff: Duration
    private let refusedUntil: Mutex<[ContinuousClock.Instant?]>

    init(_ configuration: MySQLConfiguration, backoff: Duration = .seconds(5)) {
        self.endpoints = configuration.servers
        self.backoff = backoff
        self.refusedUntil = Mutex(Array(repeating: nil, count: configuration.servers.count))
    }

    var isCluster: Bool { self.endpoints.count > 1 }

    /// Indices to try: in the order given, members that refused lately last.
    var attemptOrder: [Int] {
        let now = ContinuousClock.now
        let refused = self.refusedUntil.withLock { until in until.map { $0.map { $0 > now } ?? false } }
        let indices = Array(self.endpoints.indices)
        return indices.filter { !refused[$0] } + indices.filter { refused[$0] }
    }

    func connected(_ index: Int) {
        self.refusedUntil.withLock { $0[index] = nil }
    }

    func refused(_ index: Int) {
        guard self.isCluster else { return }
        let until = ContinuousClock.now + self.backoff
        self.refusedUntil.withLock { $0[index] = until }
    }
}

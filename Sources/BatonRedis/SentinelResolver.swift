import BatonPool
import Logging
import Synchronization

/// Finds the master through Redis Sentinel, as Sentinel's guide for clients
/// asks: each Sentinel in turn until one answers `SENTINEL
/// get-master-addr-by-name` (that one is asked first next time), then ROLE
/// on the address it gave, since a Sentinel may still name a master that a
/// failover has just demoted.
///
/// The master is asked for again on every new connection rather than
/// cached: after a failover a cached address is wrong until something
/// notices, and pooled connections are long-lived, so the extra round trip
/// is rare. When the answer differs from the master of the connections
/// already open, the generation moves on: those connections report
/// themselves broken and the pools drop them (idle ones before their next
/// use), so every pool of the node follows the new master at once.
public final class SentinelResolver: Sendable {
    public let url: SentinelURL

    private struct State {
        /// The Sentinels in the order to ask them.
        var order: [ConnectionURL.Endpoint]
        /// The master that connections were last opened to.
        var master: ConnectionURL.Endpoint?
        /// Grows each time the master changes.
        var generation = 0
    }

    private let state: Mutex<State>

    public init(url: SentinelURL) {
        self.url = url
        self.state = Mutex(State(order: url.sentinels))
    }

    /// Which master connections are opened to now; a connection opened under
    /// an older generation is stale.
    var generation: Int { self.state.withLock { $0.generation } }

    /// Opens a connection to the current master. Blocks its thread: only a
    /// pool's own threads call it.
    func connectToMaster(configuration: RedisConfiguration, logger: Logger) throws(RedisError) -> RedisConnection {
        let master = try self.askForMaster(configuration: configuration, logger: logger)
        var direct = configuration
        direct.host = master.host
        direct.port = master.port ?? 6379
        direct.sentinel = nil
        let connection = try RedisConnection(configuration: direct)
        let role: RESPValue
        do {
            role = try connection.send(RedisCommand("ROLE"))
        } catch {
            connection.close()
            throw error
        }
        // A Sentinel may name a master that a failover has just demoted.
        // An ACL user not allowed ROLE (an error reply) is taken at the
        // Sentinel's word: a READONLY reply still catches a replica later.
        let isError: Bool
        if case .error = role { isError = true } else { isError = false }
        guard isError || role.array?.first?.string == "master" else {
            connection.close()
            throw RedisError(
                .connectionFailed,
                "\(master) is no longer the master of \(self.url.masterName) (ROLE: \(role.array?.first?.string ?? "?")); a failover is under way"
            )
        }
        connection.follow(self, generation: self.note(master, logger: logger))
        return connection
    }

    /// The master's address from the first Sentinel that knows it.
    private func askForMaster(configuration: RedisConfiguration, logger: Logger) throws(RedisError) -> ConnectionURL.Endpoint {
        let order = self.state.withLock { $0.order }
        var failures: [String] = []
        for sentinel in order {
            do {
                let master = try self.ask(sentinel, configuration: configuration)
                self.state.withLock { state in
                    if let index = state.order.firstIndex(of: sentinel), index != 0 {
                        state.order.insert(state.order.remove(at: index), at: 0)
                    }
                }
                return master
            } catch {
                // One Sentinel down or behind is what Sentinel is for: try the next.
                logger.debug("Sentinel did not name the master", metadata: ["sentinel": "\(sentinel)", "error": "\(error.message)"])
                failures.append("\(sentinel): \(error.message)")
            }
        }
        throw RedisError(.connectionFailed, "no Sentinel named the master \(self.url.masterName): \(failures.joined(separator: "; "))")
    }

    private func ask(_ sentinel: ConnectionURL.Endpoint, configuration: RedisConfiguration) throws(RedisError) -> ConnectionURL.Endpoint {
        let connection = try RedisConnection(
            configuration: RedisConfiguration(
                host: sentinel.host, port: sentinel.port ?? SentinelURL.defaultPort,
                username: self.url.sentinelUsername, password: self.url.sentinelPassword,
                connectTimeout: configuration.connectTimeout, commandTimeout: configuration.commandTimeout, tls: self.url.tls
            )
        )
        defer { connection.close() }
        let reply = try connection.send(RedisCommand("SENTINEL", "get-master-addr-by-name", self.url.masterName)).checked()
        guard let pair = reply.array, pair.count == 2, let host = pair[0].string, let port = pair[1].string.flatMap({ Int($0) }) else {
            throw RedisError(.connectionFailed, "does not know a master named \(self.url.masterName)")
        }
        return ConnectionURL.Endpoint(host: host, port: port)
    }

    /// Records the master a connection was just opened to; logs a change.
    private func note(_ master: ConnectionURL.Endpoint, logger: Logger) -> Int {
        let (previous, generation, changed) = self.state.withLock { state in
            let previous = state.master
            guard previous != master else { return (previous, state.generation, false) }
            state.master = master
            state.generation += 1
            return (previous, state.generation, true)
        }
        if changed, let previous {
            logger.warning(
                "Redis master changed (Sentinel failover): reconnecting to the new master",
                metadata: ["master_name": "\(self.url.masterName)", "from": "\(previous)", "to": "\(master)"]
            )
        } else if changed {
            logger.info("Redis master found through Sentinel", metadata: ["master_name": "\(self.url.masterName)", "master": "\(master)"])
        }
        return generation
    }
}

extension SentinelResolver: RedisTopology {}

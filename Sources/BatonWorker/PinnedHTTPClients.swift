import AsyncHTTPClient
import BatonModel
import Synchronization

/// HTTP clients that connect only where the allow-list said yes.
///
/// AsyncHTTPClient has no per-request resolver, but its `dnsOverride` maps a
/// host name to the address to connect to while the Host header, TLS SNI
/// and certificate checks keep the name. So there is one client per host
/// name, pinned to the address checked for it; when the name's checked
/// address changes, a new client takes over and the old one is shut down
/// once its last request ends. A failed request moves the pin to the
/// name's next allowed address for the next call: pinned, the client no
/// longer falls back across a name's addresses by itself (an IPv6 answer
/// first for a service listening on IPv4 only, say). Hosts
/// written as addresses share one client with no override: there is
/// nothing to look up.
final class PinnedHTTPClients: Sendable {
    private final class Pinned: Sendable {
        let client: HTTPClient
        let address: IPAddress
        /// Requests using the client, whether it was replaced, when last used.
        let use = Mutex<(inFlight: Int, retired: Bool, lastUsed: ContinuousClock.Instant)>((0, false, .now))
        /// A request through it failed.
        let failed = Atomic<Bool>(false)

        init(client: HTTPClient, address: IPAddress) {
            self.client = client
            self.address = address
        }

        /// Takes one use; false when it was retired meanwhile.
        func acquire() -> Bool {
            self.use.withLock { use in
                guard !use.retired else { return false }
                use.inFlight += 1
                use.lastUsed = .now
                return true
            }
        }

        /// Ends one use; true when the client is now retired and idle (the caller shuts it down).
        func release() -> Bool {
            self.use.withLock { use in
                use.inFlight -= 1
                return use.retired && use.inFlight == 0
            }
        }

        /// True when idle (the caller shuts it down); else the last request does.
        func retire() -> Bool {
            self.use.withLock { use in
                use.retired = true
                return use.inFlight == 0
            }
        }
    }

    private let configuration: HTTPClient.Configuration
    private let literal: HTTPClient
    private let pinned = Mutex<[String: Pinned]>([:])
    private let maxHosts: Int

    init(configuration: HTTPClient.Configuration, maxHosts: Int = 256) {
        self.configuration = configuration
        self.literal = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.maxHosts = maxHosts
    }

    /// Runs `body` with a client that connects to one of `allowed` (checked
    /// addresses of `target`'s host, in preference order) and nowhere else.
    /// The address in use is kept while it stays allowed, so a name whose
    /// DNS answers rotate does not get a new client each time.
    func withClient<T: Sendable>(for target: ExecutorTarget, allowed: [IPAddress], _ body: (HTTPClient) async throws -> T) async throws -> T {
        precondition(!allowed.isEmpty, "the allow-list check gives at least one address")
        if target.literalAddress != nil { return try await body(self.literal) }
        let pinned = await self.acquire(host: target.host, allowed: allowed)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(pinned.client))
        } catch {
            if !(error is CancellationError) && !Task.isCancelled { pinned.failed.store(true, ordering: .relaxed) }
            result = .failure(error)
        }
        if pinned.release() { try? await pinned.client.shutdown() }
        return try result.get()
    }

    private func acquire(host: String, allowed: [IPAddress]) async -> Pinned {
        while true {
            var idle: [Pinned] = []
            let pinned = self.pinned.withLock { clients -> Pinned in
                var address = allowed[0]
                if let current = clients[host], let index = allowed.firstIndex(of: current.address) {
                    guard current.failed.load(ordering: .relaxed), allowed.count > 1 else { return current }
                    address = allowed[(index + 1) % allowed.count]
                }
                var configuration = self.configuration
                // The override is keyed by the host exactly as the client parses it from the URL (`ExecutorTarget.http`).
                configuration.dnsOverride = [host: address.description]
                let fresh = Pinned(client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration), address: address)
                if let replaced = clients.updateValue(fresh, forKey: host), replaced.retire() { idle.append(replaced) }
                if clients.count > self.maxHosts,
                    let oldest = clients.filter({ $0.key != host }).min(by: { $0.value.use.withLock(\.lastUsed) < $1.value.use.withLock(\.lastUsed) })
                {
                    clients.removeValue(forKey: oldest.key)
                    if oldest.value.retire() { idle.append(oldest.value) }
                }
                return fresh
            }
            for client in idle { try? await client.client.shutdown() }
            if pinned.acquire() { return pinned }
            // Retired between the lookup and the use (another address won): look again.
        }
    }

    func shutdown() async throws {
        let all = self.pinned.withLock { clients in
            defer { clients.removeAll() }
            return Array(clients.values)
        }
        for pinned in all where pinned.retire() { try? await pinned.client.shutdown() }
        try await self.literal.shutdown()
    }
}

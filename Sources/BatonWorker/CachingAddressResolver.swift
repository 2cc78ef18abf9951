import BatonModel
import Synchronization

/// Keeps each answer of another resolver for a few seconds, so a busy type
/// does not cost a DNS lookup per call. Safe for the allow-list: what is
/// cached is only what to connect to, and every call still checks the
/// address it is handed. Failures are not kept. Bounded: when full, the
/// oldest answers go.
public final class CachingAddressResolver: AddressResolver {
    private struct Answer {
        var addresses: [IPAddress]
        var expires: ContinuousClock.Instant
    }

    private let base: any AddressResolver
    private let lifetime: Duration
    private let capacity: Int
    private let answers = Mutex<[String: Answer]>([:])

    public init(_ base: any AddressResolver, lifetime: Duration = .seconds(5), capacity: Int = 1024) {
        self.base = base
        self.lifetime = lifetime
        self.capacity = capacity
    }

    public func resolve(_ host: String) async throws -> [IPAddress] {
        let now = ContinuousClock.now
        if let cached = self.answers.withLock({ $0[host] }), cached.expires > now { return cached.addresses }
        let addresses = try await self.base.resolve(host)
        let answer = Answer(addresses: addresses, expires: ContinuousClock.now + self.lifetime)
        self.answers.withLock { answers in
            if answers.count >= self.capacity {
                answers = answers.filter { $0.value.expires > now }
                while answers.count >= self.capacity, let oldest = answers.min(by: { $0.value.expires < $1.value.expires }) {
                    answers.removeValue(forKey: oldest.key)
                }
            }
            answers[host] = answer
        }
        return addresses
    }
}

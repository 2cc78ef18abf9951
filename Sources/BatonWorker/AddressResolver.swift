import BatonModel

/// Turns an executor endpoint's host name into addresses. The worker checks
/// what this returns against the allow-list and connects to a checked
/// address itself, so the answer used is the answer checked. Tests inject a
/// fixed table (a name that "resolves" to 169.254.169.254); nodes use
/// `SystemAddressResolver`, usually behind `CachingAddressResolver`.
public protocol AddressResolver: Sendable {
    /// The host's addresses in preference order; throws when it has none.
    func resolve(_ host: String) async throws -> [IPAddress]
}

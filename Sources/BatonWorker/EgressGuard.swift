import BatonModel

/// The executor allow-list, enforced by the worker where the call is made:
/// whatever node wrote a type's config, and whatever its name resolves to
/// now. The executors connect to the address this returns and to no other
/// (no second lookup between the check and the connection, so a DNS answer
/// that changes in between cannot slip past it).
public struct EgressGuard: Sendable {
    public let allowList: ExecutorAllowList
    public let resolver: any AddressResolver

    /// One cache for the process: both executors see the same answers.
    public static let systemResolver: any AddressResolver = CachingAddressResolver(SystemAddressResolver())

    public init(allowList: ExecutorAllowList = .unrestricted, resolver: any AddressResolver = EgressGuard.systemResolver) {
        self.allowList = allowList
        self.resolver = resolver
    }

    /// The addresses `target` may be reached at, in preference order, never
    /// empty: its literal, or those its name resolves to that the allow-list
    /// permits. A refusal is final (not retried); a failed lookup is retried.
    public func addresses(for target: ExecutorTarget, endpoint: String) async throws -> [IPAddress] {
        let candidates: [IPAddress]
        if let literal = target.literalAddress {
            candidates = [literal]
        } else {
            do {
                candidates = try await self.resolver.resolve(target.host)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw ExecutionFailure("\(Endpoint.redacted(endpoint)): \(error)", retryable: true)
            }
        }
        let allowed = candidates.filter { self.allowList.permits(host: target.host, address: $0, port: target.port) }
        if !allowed.isEmpty { return allowed }
        let shown = candidates.prefix(4).map(\.description).joined(separator: ", ")
        let guarded = candidates.contains { address in ExecutorAllowList.guardedNetworks.contains { $0.contains(address) } }
        let why = guarded
            ? "link-local and metadata addresses need an explicit address or CIDR entry in --executor-allow-hosts"
            : "not in --executor-allow-hosts"
        let resolved = target.literalAddress == nil ? " (resolves to \(shown))" : ""
        throw ExecutionFailure("refused: \(Endpoint.redacted(endpoint))\(resolved) port \(target.port): \(why)", retryable: false)
    }
}

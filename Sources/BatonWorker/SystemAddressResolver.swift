import BatonModel
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `getaddrinfo`, as AsyncHTTPClient and gRPC would have called it, on
/// threads of its own: it blocks (for seconds when a DNS server is slow), so
/// it must stay off the cooperative pool and the event loops, and a slow
/// lookup must not hold up the blocking Redis and MySQL calls either.
public struct SystemAddressResolver: AddressResolver {
    public struct LookupFailed: Error, CustomStringConvertible {
        public var host: String
        public var reason: String
        public var description: String { "could not resolve \(self.host): \(self.reason)" }

        public init(host: String, reason: String) {
            self.host = host
            self.reason = reason
        }
    }

    /// Shared by every executor of the process, like NIO's own singletons.
    private static let threads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        return pool
    }()

    public init() {}

    public func resolve(_ host: String) async throws -> [IPAddress] {
        try await Self.threads.runIfActive { try Self.lookup(host) }
    }

    static func lookup(_ host: String) throws -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else {
            throw LookupFailed(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let info = next?.pointee {
            next = info.ai_next
            guard let socketAddress = info.ai_addr else { continue }
            let address: IPAddress?
            switch info.ai_family {
            case AF_INET:
                address = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin_addr) { IPAddress(bytes: Array($0)) }
                }
            case AF_INET6:
                address = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    withUnsafeBytes(of: pointer.pointee.sin6_addr) { IPAddress(bytes: Array($0)) }
                }
            default:
                address = nil
            }
            if let address, !addresses.contains(address) { addresses.append(address) }
        }
        guard !addresses.isEmpty else { throw LookupFailed(host: host, reason: "no IPv4 or IPv6 address") }
        return addresses
    }
}

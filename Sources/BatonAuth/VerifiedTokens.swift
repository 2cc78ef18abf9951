import Foundation
import Synchronization

/// Tokens `JWTVerifier` has verified, by their SHA-256, with the caller they
/// name and their expiry: a client sends the same token with every call, and
/// its signature (an RSA or ECDSA verification, behind jwt-kit's one actor)
/// need not be checked again until it expires. Bounded: when full, it starts
/// over. Only tokens that passed every check are kept; never the token itself.
final class VerifiedTokens: Sendable {
    struct Entry: Sendable {
        var caller: Caller
        var expires: Date
    }

    static let capacity = 4096

    private let entries = Mutex<[[UInt8]: Entry]>([:])

    func entry(for digest: [UInt8]) -> Entry? {
        self.entries.withLock { $0[digest] }
    }

    /// `now` on the verifier's clock (the cluster's), as `expires` is.
    func insert(digest: [UInt8], caller: Caller, expires: Date, now: Date) {
        self.entries.withLock { entries in
            if entries.count >= Self.capacity {
                entries = entries.filter { $0.value.expires > now }
                if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[digest] = Entry(caller: caller, expires: expires)
        }
    }
}

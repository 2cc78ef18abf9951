/// Turns a request's bearer credential into its `Caller`, for every API
/// (gRPC metadata, REST and dashboard `Authorization` headers): an API key
/// from the key file, or a signed token when a `TokenVerifier` is set.
public struct Authenticator: Sendable {
    /// Why a credential was refused; each API words it in its own status.
    public struct Refusal: Error, Sendable, Equatable {
        public var message: String
    }

    /// Shared by every copy: `replace` rotates the keys of every API at once.
    private let credentials: AuthenticatorCredentials

    /// nil and no verifier: the node runs open (every caller `Caller.open`).
    public var keys: APIKeys? { self.credentials.current.keys }
    public var tokens: (any TokenVerifier)? { self.credentials.current.tokens }

    public init(keys: APIKeys?, tokens: (any TokenVerifier)? = nil) {
        self.credentials = AuthenticatorCredentials(keys: keys, tokens: tokens)
    }

    /// A node with neither keys nor tokens asks nobody who they are.
    public var isOpen: Bool { self.keys == nil && self.tokens == nil }

    /// New keys and tokens (files rotated), in force for the next request of
    /// every API; a request under way finishes with the ones it read.
    public func replace(keys: APIKeys?, tokens: (any TokenVerifier)?) {
        self.credentials.replace(keys: keys, tokens: tokens)
    }

    /// The caller an `Authorization` header value names.
    public func caller(authorization: String?) async throws(Refusal) -> Caller {
        // One read: keys and tokens of the same generation.
        let (keys, tokens) = self.credentials.current
        if keys == nil && tokens == nil { return .open }
        guard let authorization, authorization.hasPrefix("Bearer ") else {
            throw Refusal(message: "an API key or token is required (authorization: Bearer <key or JWT>)")
        }
        let credential = String(authorization.dropFirst("Bearer ".count))
        if let entry = keys?.entry(forKey: credential) {
            return Caller(keyID: entry.id, role: entry.role, tenant: entry.tenant)
        }
        if let tokens, TokenShape.looksLikeJWT(credential) {
            return try await tokens.caller(forToken: credential)
        }
        throw Refusal(message: "unknown API key")
    }
}

/// Verifies a signed bearer token (a JWT) and reads its caller from its claims.
public protocol TokenVerifier: Sendable {
    func caller(forToken token: String) async throws(Authenticator.Refusal) -> Caller
}

/// What a JWT looks like from outside: three base64url parts joined by dots.
enum TokenShape {
    static func looksLikeJWT(_ credential: String) -> Bool {
        let parts = credential.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 3 && parts.allSatisfy { part in
            !part.isEmpty && part.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F
            }
        }
    }
}

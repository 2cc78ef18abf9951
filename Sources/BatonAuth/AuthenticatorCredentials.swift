import Synchronization

/// The keys and token verifier an `Authenticator` checks against now,
/// behind a lock so that a rotation (SIGHUP, a changed file) swaps both at
/// once while requests read them.
final class AuthenticatorCredentials: Sendable {
    private let state: Mutex<(keys: APIKeys?, tokens: (any TokenVerifier)?)>

    init(keys: APIKeys?, tokens: (any TokenVerifier)?) {
        self.state = Mutex((keys, tokens))
    }

    var current: (keys: APIKeys?, tokens: (any TokenVerifier)?) { self.state.withLock { $0 } }

    func replace(keys: APIKeys?, tokens: (any TokenVerifier)?) {
        self.state.withLock { $0 = (keys, tokens) }
    }
}

import ArgumentParser
import BatonAuth
import BatonBroker
import Logging

/// The node's API credentials from its flags.
enum NodeCredentials {
    /// The one authenticator every API of the node uses (gRPC, REST, the
    /// dashboard): the API key file, JWTs, both, or neither (open). Built
    /// before the node opens anything, so a bad file is a plain start-up error;
    /// tokens' times are checked on `clock`, the cluster's (synced before the
    /// API serves). `CredentialReloader` swaps new keys in later.
    static func authenticator(options: NodeOptions, clock: ClusterClock, logger: Logger) async throws -> Authenticator {
        let (apiKeys, tokens) = try await Self.credentials(options: options, clock: clock)
        if let apiKeys { logger.info("API keys required", metadata: ["keys": "\(apiKeys.entries.count)"]) }
        if let tokens {
            let configuration = tokens.configuration
            logger.info("JWTs accepted", metadata: [
                "algorithm": "\(tokens.algorithm.rawValue)", "role_claim": "\(configuration.roleClaim)", "tenant_claim": "\(configuration.tenantClaim)",
                "issuer": "\(configuration.issuer ?? "any")", "audience": "\(configuration.audience ?? "any")", "leeway_s": "\(configuration.leeway.components.seconds)",
            ])
        }
        let authenticator = Authenticator(keys: apiKeys, tokens: tokens)
        // A node without the api role serves no API: nothing to be open.
        if authenticator.isOpen, (try? options.nodeRoles)?.contains(.api) ?? true {
            logger.warning("no --api-keys-file nor --jwt-hs256-secret-file / --jwt-public-key-file: the API is open to anyone who can reach it")
        }
        return authenticator
    }

    /// The key file and JWT key the flags name, read now (at start, and on
    /// every reload). Errors name the flag and the problem, never a key.
    static func credentials(options: NodeOptions, clock: ClusterClock) async throws -> (APIKeys?, JWTVerifier?) {
        var apiKeys: APIKeys?
        if let path = options.apiKeysFile {
            do {
                apiKeys = try APIKeys(contentsOf: path, allowReadableByOthers: options.allowReadableKeyFile)
            } catch {
                throw ValidationError("--api-keys-file: \(error)")
            }
        }
        return (apiKeys, try await options.jwtVerifier(clock: clock))
    }
}

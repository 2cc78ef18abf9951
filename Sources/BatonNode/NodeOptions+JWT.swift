import ArgumentParser
import BatonAPI
import BatonBroker
import Foundation

/// The `--jwt-*` flags, each with its `BATON_JWT_*` variable as for `--api-keys-file`.
extension NodeOptions {
    /// The verifier the flags ask for, checking tokens' times on `clock`
    /// (the cluster's); nil when neither key flag (nor variable) is set.
    func jwtVerifier(clock: ClusterClock) async throws -> JWTVerifier? {
        let secretFile = self.jwtHs256SecretFile ?? Self.environment("BATON_JWT_HS256_SECRET_FILE")
        let publicKeyFile = self.jwtPublicKeyFile ?? Self.environment("BATON_JWT_PUBLIC_KEY_FILE")
        let configuration = JWTVerifier.Configuration(
            roleClaim: self.jwtRoleClaim ?? Self.environment("BATON_JWT_ROLE_CLAIM") ?? "role",
            tenantClaim: self.jwtTenantClaim ?? Self.environment("BATON_JWT_TENANT_CLAIM") ?? "tenant",
            issuer: self.jwtIssuer ?? Self.environment("BATON_JWT_ISSUER"),
            audience: self.jwtAudience ?? Self.environment("BATON_JWT_AUDIENCE"),
            leeway: .seconds(try self.jwtLeeway()),
            clock: { clock.now() }
        )
        switch (secretFile, publicKeyFile) {
        case (nil, nil):
            return nil
        case (let path?, nil):
            do {
                return try await JWTVerifier(hs256SecretFile: path, allowReadableByOthers: self.allowReadableKeyFile, configuration: configuration)
            } catch {
                throw ValidationError("--jwt-hs256-secret-file: \(error.description)")
            }
        case (nil, let path?):
            do {
                return try await JWTVerifier(publicKeyFile: path, configuration: configuration)
            } catch {
                throw ValidationError("--jwt-public-key-file: \(error.description)")
            }
        case (_?, _?):
            throw ValidationError("--jwt-hs256-secret-file and --jwt-public-key-file exclude each other: a node accepts one JWT algorithm")
        }
    }

    private func jwtLeeway() throws -> Int {
        if let seconds = self.jwtLeewaySeconds { return seconds }
        guard let text = Self.environment("BATON_JWT_LEEWAY_SECONDS") else { return Int(JWTVerifier.Configuration.defaultLeeway.components.seconds) }
        guard let seconds = Int(text) else { throw ValidationError("BATON_JWT_LEEWAY_SECONDS must be a whole number of seconds") }
        return seconds
    }
}

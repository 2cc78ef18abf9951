import ArgumentParser
import BatonAuth
import BatonBroker
import Foundation

/// The `--jwt-*` flags (and their `BATON_JWT_*` variables, `configurationTable`).
extension NodeOptions {
    /// The verifier the flags ask for, checking tokens' times on `clock`
    /// (the cluster's); nil when neither key flag (nor variable) is set.
    func jwtVerifier(clock: ClusterClock) async throws -> JWTVerifier? {
        let configuration = JWTVerifier.Configuration(
            roleClaim: self.jwtRoleClaim ?? "role",
            tenantClaim: self.jwtTenantClaim ?? "tenant",
            issuer: self.jwtIssuer,
            audience: self.jwtAudience,
            leeway: .seconds(self.jwtLeewaySeconds ?? Int(JWTVerifier.Configuration.defaultLeeway.components.seconds)),
            clock: { clock.now() }
        )
        switch (self.jwtHs256SecretFile, self.jwtPublicKeyFile) {
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
}

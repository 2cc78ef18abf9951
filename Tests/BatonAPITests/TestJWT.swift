import Crypto
import CryptoExtras
import Foundation

/// Mints JWTs for tests by hand (base64url JSON and the algorithm's own
/// signature from swift-crypto), independent of the jwt-kit code that
/// verifies them, so any header can be forged: `alg: none`, HS256 keyed with a
/// public key's text, a claim of any type.
enum TestJWT {
    /// Keys made once per test process (RSA generation takes a while).
    static let rsaKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    static let p256Key = P256.Signing.PrivateKey()

    static func base64URL(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func json(_ object: [String: Any]) -> String {
        self.base64URL(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    /// `header.payload.signature`, the signature over `header.payload` by `sign`.
    static func token(header: [String: Any], claims: [String: Any], sign: (Data) throws -> Data) rethrows -> String {
        let input = "\(self.json(header)).\(self.json(claims))"
        return "\(input).\(self.base64URL(try sign(Data(input.utf8))))"
    }

    static func hs256(secret: some DataProtocol, claims: [String: Any], alg: String = "HS256") -> String {
        self.token(header: ["alg": alg, "typ": "JWT"], claims: claims) { input in
            Data(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: Data(secret))))
        }
    }

    static func rs256(claims: [String: Any], key: _RSA.Signing.PrivateKey = Self.rsaKey) -> String {
        self.token(header: ["alg": "RS256", "typ": "JWT"], claims: claims) { input in
            try! key.signature(for: input, padding: .insecurePKCS1v1_5).rawRepresentation
        }
    }

    static func es256(claims: [String: Any], key: P256.Signing.PrivateKey = Self.p256Key) -> String {
        self.token(header: ["alg": "ES256", "typ": "JWT"], claims: claims) { input in
            try! key.signature(for: input).rawRepresentation
        }
    }

    /// Claims valid for a minute from `now`, for `sub`, with `role` and `tenant` (nil: none).
    static func claims(
        sub: String = "alice", role: String? = "admin", tenant: String? = "default", expiresIn: TimeInterval = 60, now: Date = Date()
    ) -> [String: Any] {
        var claims: [String: Any] = ["sub": sub, "exp": Int(now.timeIntervalSince1970 + expiresIn), "iat": Int(now.timeIntervalSince1970)]
        if let role { claims["role"] = role }
        if let tenant { claims["tenant"] = tenant }
        return claims
    }

    /// A file of `contents` with `mode`, in the temporary folder.
    static func file(_ contents: some DataProtocol, mode: Int) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-\(UUID().uuidString)").path
        try Data(contents).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }
}

import BatonModel
import Crypto
import CryptoExtras
import Foundation
import JWTKit
import Synchronization

/// Verifies JWT bearer tokens for every API (`Authenticator.tokens`) and
/// reads their caller from the claims. One key and one algorithm: an HS256
/// secret, or a public key (RSA → RS256, EC P-256 → ES256). A token whose
/// header names any other algorithm (`none`, HS256 against a public key…)
/// is refused before its signature is looked at.
///
/// Claims: `exp` required, `nbf` honoured (both on the cluster's clock, with
/// `Configuration.leeway` either side), `iss` and `aud` checked when
/// configured, `sub` required (the caller's key id is `jwt:<sub>`, for
/// audit lines), the role from `Configuration.roleClaim` (admin, submitter or
/// viewer) and the tenant from `Configuration.tenantClaim`, both required: a
/// token that names no tenant is refused rather than put in `default`, where
/// it would see and change another service's tasks. Refusals say what is
/// wrong and never echo the token.
public struct JWTVerifier: TokenVerifier {
    public enum Algorithm: String, Sendable {
        case hs256 = "HS256"
        case rs256 = "RS256"
        case es256 = "ES256"
    }

    /// Which claims name the caller, and which issuer and audience a token must carry.
    public struct Configuration: Sendable {
        public var roleClaim: String
        public var tenantClaim: String
        /// nil: any issuer (or none).
        public var issuer: String?
        /// nil: any audience (or none).
        public var audience: String?
        /// How far past `exp` (and before `nbf`) a token still passes: the
        /// issuer's clock and the cluster's are two clocks.
        public var leeway: Duration
        /// The time tokens are checked against: the cluster's clock (Redis
        /// `TIME`), so every node accepts and refuses a token alike whatever
        /// its own clock says.
        public var clock: @Sendable () -> Date

        public init(
            roleClaim: String = "role", tenantClaim: String = "tenant", issuer: String? = nil, audience: String? = nil,
            leeway: Duration = Self.defaultLeeway, clock: @escaping @Sendable () -> Date = { Date() }
        ) {
            self.roleClaim = roleClaim
            self.tenantClaim = tenantClaim
            self.issuer = issuer
            self.audience = audience
            self.leeway = leeway
            self.clock = clock
        }

        public static let defaultLeeway = Duration.seconds(30)

        var leewaySeconds: TimeInterval { Double(self.leeway.components.seconds) + Double(self.leeway.components.attoseconds) / 1e18 }
    }

    /// A key the node cannot use; its message names the problem, never the key's bytes.
    public struct SetupError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The shortest HS256 secret accepted: 256 bits, the hash's own size (RFC 7518 §3.2).
    public static let minimumSecretBytes = 32
    /// The smallest RSA key accepted.
    public static let minimumRSABits = 2048
    /// Longer bearer credentials are refused unread.
    static let maximumTokenBytes = 16 * 1024

    public let algorithm: Algorithm
    public let configuration: Configuration
    private let keys: JWTKeyCollection
    private let verified: VerifiedTokens

    /// HS256 with `secret`, which must hold at least 32 bytes.
    public init(hs256Secret secret: some Collection<UInt8>, configuration: Configuration = Configuration()) async throws(SetupError) {
        guard secret.count >= Self.minimumSecretBytes else {
            throw SetupError(description: "the HS256 secret is \(secret.count) bytes; at least \(Self.minimumSecretBytes) are needed")
        }
        try Self.check(configuration)
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: Array(secret)), digestAlgorithm: .sha256)
        self.init(algorithm: .hs256, keys: keys, configuration: configuration)
    }

    /// RS256 or ES256, whichever the key is: an RSA public key of at least
    /// 2048 bits, or an EC P-256 one, in PEM (`BEGIN PUBLIC KEY`).
    public init(publicKeyPEM pem: String, configuration: Configuration = Configuration()) async throws(SetupError) {
        try Self.check(configuration)
        let keys = JWTKeyCollection()
        let algorithm: Algorithm
        do {
            switch try Self.publicKey(pem: pem) {
            case .rsa(let key):
                await keys.add(rsa: try Insecure.RSA.PublicKey(backing: key), digestAlgorithm: .sha256)
                algorithm = .rs256
            case .p256(let key):
                await keys.add(ecdsa: try ES256PublicKey(backing: key))
                algorithm = .es256
            }
        } catch let error as SetupError {
            throw error
        } catch {
            throw SetupError(description: "the public key could not be loaded")
        }
        self.init(algorithm: algorithm, keys: keys, configuration: configuration)
    }

    /// HS256 with the bytes of the file at `path` (a trailing newline is not
    /// part of the secret). A file group or others may read is refused
    /// unless `allowReadableByOthers`: it is a secret.
    public init(hs256SecretFile path: String, allowReadableByOthers: Bool = false, configuration: Configuration = Configuration()) async throws(SetupError) {
        let mode: Int
        let data: Data
        do {
            mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? 0
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SetupError(description: "cannot read \(path)")
        }
        if mode & 0o077 != 0 && !allowReadableByOthers {
            throw SetupError(
                description: "\(path) may be read by group or others (mode \(String(mode & 0o777, radix: 8))): chmod 600 it, or pass --allow-readable-key-file"
            )
        }
        var secret = Array(data)
        while let last = secret.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { secret.removeLast() }
        if secret.starts(with: Array("-----BEGIN".utf8)) {
            throw SetupError(description: "\(path) holds a PEM key, not an HS256 secret: give a public key with --jwt-public-key-file")
        }
        do {
            self = try await JWTVerifier(hs256Secret: secret, configuration: configuration)
        } catch {
            throw SetupError(description: "\(path): \(error.description)")
        }
    }

    /// RS256 or ES256 with the public key (PEM) in the file at `path`.
    public init(publicKeyFile path: String, configuration: Configuration = Configuration()) async throws(SetupError) {
        let pem: String
        do {
            pem = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw SetupError(description: "cannot read \(path) as a PEM file")
        }
        do {
            self = try await JWTVerifier(publicKeyPEM: pem, configuration: configuration)
        } catch {
            throw SetupError(description: "\(path): \(error.description)")
        }
    }

    private init(algorithm: Algorithm, keys: JWTKeyCollection, configuration: Configuration) {
        self.algorithm = algorithm
        self.keys = keys
        self.configuration = configuration
        self.verified = VerifiedTokens()
    }

    private static func check(_ configuration: Configuration) throws(SetupError) {
        guard !configuration.roleClaim.isEmpty, !configuration.tenantClaim.isEmpty else {
            throw SetupError(description: "the role and tenant claim names must not be empty")
        }
        if configuration.issuer?.isEmpty == true || configuration.audience?.isEmpty == true {
            throw SetupError(description: "an expected issuer or audience must not be empty")
        }
        guard configuration.leeway >= .zero, configuration.leeway <= .seconds(3600) else {
            throw SetupError(description: "the leeway must be between 0 and 3600 seconds")
        }
    }

    enum PublicKey {
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
    }

    /// The key a PEM text holds, by its type; anything but RSA and EC P-256 is refused.
    static func publicKey(pem: String) throws(SetupError) -> PublicKey {
        if pem.contains("PRIVATE KEY-----") {
            throw SetupError(description: "holds a private key; give the token issuer's public key (openssl pkey -in key.pem -pubout)")
        }
        if pem.contains("-----BEGIN CERTIFICATE") {
            throw SetupError(description: "holds a certificate; give its public key (openssl x509 -in cert.pem -pubkey -noout)")
        }
        guard pem.contains("-----BEGIN") else {
            throw SetupError(description: "is not a PEM file (-----BEGIN PUBLIC KEY-----)")
        }
        if let key = try? _RSA.Signing.PublicKey(unsafePEMRepresentation: pem) {  // sized below, with a clear message
            guard key.keySizeInBits >= Self.minimumRSABits else {
                throw SetupError(description: "the RSA key has \(key.keySizeInBits) bits; at least \(Self.minimumRSABits) are needed")
            }
            return .rsa(key)
        }
        if let key = try? P256.Signing.PublicKey(pemRepresentation: pem) {
            return .p256(key)
        }
        if (try? P384.Signing.PublicKey(pemRepresentation: pem)) != nil || (try? P521.Signing.PublicKey(pemRepresentation: pem)) != nil {
            throw SetupError(description: "holds an EC key on a curve other than P-256: only RSA (RS256) and EC P-256 (ES256) keys are accepted")
        }
        throw SetupError(description: "is not an RSA or EC P-256 public key: only RS256 and ES256 are accepted")
    }

    public func caller(forToken token: String) async throws(Authenticator.Refusal) -> Caller {
        guard token.utf8.count <= Self.maximumTokenBytes else { throw Self.refusal("the token is longer than \(Self.maximumTokenBytes) bytes") }
        let now = self.configuration.clock()
        let digest = Array(SHA256.hash(data: Array(token.utf8)))
        if let entry = self.verified.entry(for: digest) {
            // Time passes for a token verified before: its window is checked at every use.
            guard now < entry.expires else { throw Self.refusal("token expired") }
            return entry.caller
        }
        try self.checkHeader(of: token)
        let claims: JWTClaimSet
        do {
            claims = try await self.keys.verify(token, as: JWTClaimSet.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw Self.refusal("the token's signature is invalid")
        } catch {
            throw Self.refusal("the token is malformed")
        }
        let (caller, expires) = try self.caller(from: claims, now: now)
        self.verified.insert(digest: digest, caller: caller, expires: expires, now: now)
        return caller
    }

    /// The header must name this node's algorithm and nothing it cannot honour.
    private func checkHeader(of token: String) throws(Authenticator.Refusal) {
        struct Header: Decodable {
            var alg: String?
            var crit: [String]?
        }
        guard let encoded = token.split(separator: ".", omittingEmptySubsequences: false).first,
            let data = Self.base64URLDecoded(encoded),
            let header = try? JSONDecoder().decode(Header.self, from: data)
        else {
            throw Self.refusal("the token's header is malformed")
        }
        guard header.alg == self.algorithm.rawValue else {
            throw Self.refusal("the token is not signed with \(self.algorithm.rawValue), the only algorithm this node accepts")
        }
        guard header.crit == nil else {
            throw Self.refusal("the token has critical header extensions (crit), which this node does not support")
        }
    }

    /// The caller a verified token names, and when (on the cluster's clock,
    /// the leeway included) it stops being valid.
    func caller(from claims: JWTClaimSet, now: Date) throws(Authenticator.Refusal) -> (Caller, Date) {
        let leeway = self.configuration.leewaySeconds
        guard let exp = claims["exp"] else { throw Self.refusal("the token has no exp claim") }
        guard case .number(let expSeconds) = exp else { throw Self.refusal("the token's exp claim is not a number") }
        let expires = Date(timeIntervalSince1970: expSeconds + leeway)
        guard now < expires else { throw Self.refusal("token expired") }
        if let nbf = claims["nbf"] {
            guard case .number(let nbfSeconds) = nbf else { throw Self.refusal("the token's nbf claim is not a number") }
            guard now >= Date(timeIntervalSince1970: nbfSeconds - leeway) else { throw Self.refusal("token not yet valid (nbf)") }
        }
        if let issuer = self.configuration.issuer {
            guard claims["iss"] == .string(issuer) else { throw Self.refusal("the token's issuer (iss) is not the one this node accepts") }
        }
        if let audience = self.configuration.audience {
            let audiences: [String]
            switch claims["aud"] {
            case .string(let one)?: audiences = [one]
            case .strings(let many)?: audiences = many
            default: audiences = []
            }
            guard audiences.contains(audience) else { throw Self.refusal("the token's audience (aud) does not include this node's") }
        }
        guard case .string(let subject)? = claims["sub"], Self.isPrintable(subject) else {
            throw Self.refusal("the token has no sub claim (1-256 printable characters)")
        }
        let roleClaim = self.configuration.roleClaim
        guard let roleValue = claims[roleClaim] else { throw Self.refusal("the token has no \(roleClaim) claim") }
        guard case .string(let roleName) = roleValue, let role = Role(rawValue: roleName) else {
            throw Self.refusal("the token's \(roleClaim) claim must be admin, submitter or viewer")
        }
        let tenantClaim = self.configuration.tenantClaim
        let tenant: String
        switch claims[tenantClaim] {
        case nil:
            throw Self.refusal("the token has no \(tenantClaim) claim")
        case .string(let name)? where Tenant.isValid(name):
            tenant = name
        default:
            throw Self.refusal("the token's \(tenantClaim) claim must be 1-\(Tenant.maxLength) of A-Z a-z 0-9 _ . -")
        }
        return (Caller(keyID: "jwt:\(subject)", role: role, tenant: tenant), expires)
    }

    /// A subject goes into audit lines: no control characters, bounded.
    private static func isPrintable(_ subject: String) -> Bool {
        !subject.isEmpty && subject.utf8.count <= 256
            && subject.unicodeScalars.allSatisfy { !$0.properties.generalCategory.isControlOrFormat }
    }

    private static func refusal(_ message: String) -> Authenticator.Refusal {
        Authenticator.Refusal(message: message)
    }

    static func base64URLDecoded(_ text: some StringProtocol) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64.append("=") }
        return Data(base64Encoded: base64)
    }
}

extension Unicode.GeneralCategory {
    fileprivate var isControlOrFormat: Bool {
        switch self {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned: true
        default: false
        }
    }
}

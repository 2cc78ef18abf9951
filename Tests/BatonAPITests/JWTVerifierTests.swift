import BatonModel
import Crypto
import CryptoExtras
import Foundation
import Synchronization
import Testing

@testable import BatonAuth

/// JWTVerifier on its own: signatures, algorithms, claims and key files.
@Suite struct JWTVerifierTests {
    static let secret = Array("an-hs256-secret-of-at-least-32-bytes!".utf8)

    private func hs256(_ configuration: JWTVerifier.Configuration = .init()) async throws -> JWTVerifier {
        try await JWTVerifier(hs256Secret: Self.secret, configuration: configuration)
    }

    /// The refusal's message, after checking it never echoes any part of the token.
    private func refusal(_ verifier: JWTVerifier, _ token: String, sourceLocation: SourceLocation = #_sourceLocation) async -> String? {
        do {
            _ = try await verifier.caller(forToken: token)
            Issue.record("accepted", sourceLocation: sourceLocation)
            return nil
        } catch {
            for part in token.split(separator: ".") where part.count >= 4 {
                #expect(!error.message.contains(part), "the refusal echoes the token", sourceLocation: sourceLocation)
            }
            return error.message
        }
    }

    @Test func anHS256TokenNamesItsCaller() async throws {
        let verifier = try await self.hs256()
        #expect(verifier.algorithm == .hs256)
        let caller = try await verifier.caller(forToken: TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(role: "submitter", tenant: "billing")))
        #expect(caller.keyID == "jwt:alice")
        #expect(caller.role == .submitter)
        #expect(caller.tenant == "billing")
        let viewer = try await verifier.caller(forToken: TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(sub: "grafana", role: "viewer")))
        #expect(viewer.tenant == Tenant.default)
        #expect(viewer.keyID == "jwt:grafana")
    }

    /// A token that names no tenant is refused, never put in `default`
    /// (where it would see another service's tasks); so with a configured claim name.
    @Test func aTokenWithoutItsTenantClaimIsRefused() async throws {
        let verifier = try await self.hs256()
        let tenantless = TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(role: "viewer", tenant: nil))
        #expect(await self.refusal(verifier, tenantless) == "the token has no tenant claim")
        let custom = try await self.hs256(.init(tenantClaim: "org"))
        #expect(await self.refusal(custom, tenantless) == "the token has no org claim")
        #expect(await self.refusal(custom, TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(tenant: "search"))) == "the token has no org claim")
    }

    @Test func timeWindow() async throws {
        let verifier = try await self.hs256()
        let expired = TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(expiresIn: -60))
        #expect(await self.refusal(verifier, expired) == "token expired")

        var early = TestJWT.claims()
        early["nbf"] = Int(Date().timeIntervalSince1970 + 60)
        #expect(await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: early)) == "token not yet valid (nbf)")
        early["nbf"] = Int(Date().timeIntervalSince1970 - 30)
        #expect(try await verifier.caller(forToken: TestJWT.hs256(secret: Self.secret, claims: early)).role == .admin, "nbf in the past is fine")

        var noExpiry = TestJWT.claims()
        noExpiry["exp"] = nil
        #expect(await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: noExpiry)) == "the token has no exp claim")
        var textExpiry = TestJWT.claims()
        textExpiry["exp"] = "tomorrow"
        #expect(await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: textExpiry)) == "the token's exp claim is not a number")
    }

    /// The cluster's time, set by the test; this process's clock plays a
    /// node whose own clock is ten minutes behind the cluster's.
    final class TestClock: Sendable {
        private let time: Mutex<Date>
        init(_ time: Date) { self.time = Mutex(time) }
        var now: Date { self.time.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { self.time.withLock { $0 += seconds } }
    }

    /// exp and nbf are checked on the cluster's clock (the one injected),
    /// never the node's own, with the leeway either side.
    @Test func tokensAreTimedOnTheClusterClockWithALeeway() async throws {
        let cluster = TestClock(Date().addingTimeInterval(600))
        let verifier = try await self.hs256(.init(clock: { cluster.now }))
        #expect(verifier.configuration.leeway == .seconds(30), "the default leeway")
        // Valid by the node's skewed clock, expired five minutes ago by the cluster's.
        let staleHere = TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(expiresIn: 300))
        #expect(await self.refusal(verifier, staleHere) == "token expired")
        // Just issued by an issuer on the cluster's time: not yet valid by the node's clock, fine by the cluster's.
        var fresh = TestJWT.claims(now: cluster.now)
        fresh["nbf"] = Int(cluster.now.timeIntervalSince1970)
        #expect(try await verifier.caller(forToken: TestJWT.hs256(secret: Self.secret, claims: fresh)).role == .admin)

        // The leeway: 20 s past exp or before nbf pass, 40 s do not.
        let within = TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(expiresIn: -20, now: cluster.now))
        #expect(try await verifier.caller(forToken: within).role == .admin)
        #expect(await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(expiresIn: -40, now: cluster.now))) == "token expired")
        var soon = TestJWT.claims(now: cluster.now)
        soon["nbf"] = Int(cluster.now.timeIntervalSince1970 + 20)
        #expect(try await verifier.caller(forToken: TestJWT.hs256(secret: Self.secret, claims: soon)).role == .admin)
        soon["nbf"] = Int(cluster.now.timeIntervalSince1970 + 40)
        #expect(await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: soon)) == "token not yet valid (nbf)")

        // No leeway: 20 s past exp is expired.
        let strict = try await self.hs256(.init(leeway: .zero, clock: { cluster.now }))
        #expect(await self.refusal(strict, within) == "token expired")
        await #expect(throws: JWTVerifier.SetupError.self) { try await self.hs256(.init(leeway: .seconds(-1))) }
    }

    /// A token verified once is remembered, but its expiry (plus the leeway)
    /// is checked at every use, on the cluster's clock.
    @Test func aRememberedTokenStillExpires() async throws {
        let cluster = TestClock(Date().addingTimeInterval(-600))
        let verifier = try await self.hs256(.init(leeway: .seconds(5), clock: { cluster.now }))
        let token = TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(expiresIn: 60, now: cluster.now))
        #expect(try await verifier.caller(forToken: token).role == .admin)
        cluster.advance(62)
        #expect(try await verifier.caller(forToken: token).role == .admin, "past exp, within the leeway")
        cluster.advance(5)
        #expect(await self.refusal(verifier, token) == "token expired")
    }

    @Test func badSignatures() async throws {
        let verifier = try await self.hs256()
        let otherSecret = TestJWT.hs256(secret: Array("another-secret-of-at-least-32-bytes!!".utf8), claims: TestJWT.claims())
        #expect(await self.refusal(verifier, otherSecret) == "the token's signature is invalid")

        // A viewer's token turned admin: the payload changed, the signature did not.
        let viewer = TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(role: "viewer")).split(separator: ".")
        let forged = "\(viewer[0]).\(TestJWT.json(TestJWT.claims(role: "admin"))).\(viewer[2])"
        #expect(await self.refusal(verifier, forged) == "the token's signature is invalid")

        #expect(await self.refusal(verifier, "\(viewer[0]).\(viewer[1]).AAAA") == "the token's signature is invalid")
        #expect(await self.refusal(verifier, "not-base64!.\(viewer[1]).\(viewer[2])") == "the token's header is malformed")
        #expect(await self.refusal(verifier, "\(viewer[0]).bm90LWpzb24.\(viewer[2])") != nil)
    }

    @Test func algNoneIsRefused() async throws {
        let verifier = try await self.hs256()
        let header = TestJWT.json(["alg": "none", "typ": "JWT"])
        let payload = TestJWT.json(TestJWT.claims())
        let expected = "the token is not signed with HS256, the only algorithm this node accepts"
        #expect(await self.refusal(verifier, "\(header).\(payload).") == expected)
        #expect(await self.refusal(verifier, "\(header).\(payload).c2ln") == expected)
        // Signed properly, but the header names another algorithm anyway.
        #expect(await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(), alg: "HS512")) != nil)
        var noAlg = TestJWT.token(header: ["typ": "JWT"], claims: TestJWT.claims()) { input in
            Data(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: Self.secret)))
        }
        #expect(await self.refusal(verifier, noAlg) == expected)
        noAlg = TestJWT.token(header: ["alg": "HS256", "crit": ["exp"]], claims: TestJWT.claims()) { input in
            Data(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: Self.secret)))
        }
        #expect(await self.refusal(verifier, noAlg)?.contains("crit") == true)

        // Through the authenticator, an empty signature is not even a token.
        let authenticator = Authenticator(keys: nil, tokens: verifier)
        await #expect(throws: Authenticator.Refusal.self) { try await authenticator.caller(authorization: "Bearer \(header).\(payload).") }
    }

    /// The classic confusion: HS256 keyed with the RSA public key's PEM text,
    /// which anyone has. An RS256 node refuses it (and an HS256 token at all).
    @Test func hs256WithThePublicKeyIsRefusedByAnRS256Node() async throws {
        let pem = TestJWT.rsaKey.publicKey.pemRepresentation
        let verifier = try await JWTVerifier(publicKeyPEM: pem)
        #expect(verifier.algorithm == .rs256)
        for key in [pem, pem + "\n", pem.trimmingCharacters(in: .whitespacesAndNewlines)] {
            let confused = TestJWT.hs256(secret: Array(key.utf8), claims: TestJWT.claims())
            #expect(await self.refusal(verifier, confused) == "the token is not signed with RS256, the only algorithm this node accepts")
            // Even with the header claiming RS256, the HMAC is no RSA signature.
            let disguised = TestJWT.hs256(secret: Array(key.utf8), claims: TestJWT.claims(), alg: "RS256")
            #expect(await self.refusal(verifier, disguised) == "the token's signature is invalid")
        }
    }

    @Test func rs256AndES256() async throws {
        let rsa = try await JWTVerifier(publicKeyPEM: TestJWT.rsaKey.publicKey.pemRepresentation)
        let ec = try await JWTVerifier(publicKeyPEM: TestJWT.p256Key.publicKey.pemRepresentation)
        #expect(rsa.algorithm == .rs256)
        #expect(ec.algorithm == .es256)
        let rsaCaller = try await rsa.caller(forToken: TestJWT.rs256(claims: TestJWT.claims(sub: "ci", role: "submitter", tenant: "search")))
        #expect(rsaCaller.keyID == "jwt:ci")
        #expect(rsaCaller.role == .submitter)
        #expect(rsaCaller.tenant == "search")
        let ecCaller = try await ec.caller(forToken: TestJWT.es256(claims: TestJWT.claims(sub: "dash", role: "viewer")))
        #expect(ecCaller.keyID == "jwt:dash")
        #expect(ecCaller.role == .viewer)

        // Each refuses the other's tokens, and tokens of another key of its own kind.
        #expect(await self.refusal(rsa, TestJWT.es256(claims: TestJWT.claims())) != nil)
        #expect(await self.refusal(ec, TestJWT.rs256(claims: TestJWT.claims())) != nil)
        let otherEC = TestJWT.es256(claims: TestJWT.claims(), key: P256.Signing.PrivateKey())
        #expect(await self.refusal(ec, otherEC) == "the token's signature is invalid")
        #expect(await self.refusal(rsa, TestJWT.rs256(claims: TestJWT.claims(expiresIn: -60))) == "token expired")
    }

    @Test func roleClaims() async throws {
        let verifier = try await self.hs256()
        #expect(await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(role: nil))) == "the token has no role claim")
        for role in ["superuser", "Admin", ""] {
            #expect(
                await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(role: role)))
                    == "the token's role claim must be admin, submitter or viewer"
            )
        }
        var listed = TestJWT.claims()
        listed["role"] = ["admin"]
        #expect(await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: listed)) == "the token's role claim must be admin, submitter or viewer")

        // A configured claim name; `role` itself is then ignored.
        let custom = try await self.hs256(.init(roleClaim: "https://baton.example/role", tenantClaim: "org"))
        var claims = TestJWT.claims(role: "admin")
        claims["https://baton.example/role"] = "viewer"
        claims["org"] = "search"
        let caller = try await custom.caller(forToken: TestJWT.hs256(secret: Self.secret, claims: claims))
        #expect(caller.role == .viewer)
        #expect(caller.tenant == "search")
        #expect(
            await self.refusal(custom, TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(role: "admin")))
                == "the token has no https://baton.example/role claim"
        )
    }

    @Test func tenantAndSubject() async throws {
        let verifier = try await self.hs256()
        for tenant in ["two words", "", String(repeating: "a", count: 65), "é"] {
            #expect(
                await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(tenant: tenant)))
                    == "the token's tenant claim must be 1-64 of A-Z a-z 0-9 _ . -"
            )
        }
        var numeric = TestJWT.claims()
        numeric["tenant"] = 42
        #expect(await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: numeric)) != nil)

        var noSubject = TestJWT.claims()
        noSubject["sub"] = nil
        #expect(await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: noSubject))?.contains("sub") == true)
        #expect(await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(sub: "alice\nforged audit line"))) != nil)
    }

    @Test func issuerAndAudience() async throws {
        let verifier = try await self.hs256(.init(issuer: "https://idp.example", audience: "baton"))
        var claims = TestJWT.claims()
        #expect(await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: claims))?.contains("iss") == true, "no issuer")
        claims["iss"] = "https://evil.example"
        claims["aud"] = "baton"
        #expect(await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: claims))?.contains("iss") == true)
        claims["iss"] = "https://idp.example"
        #expect(try await verifier.caller(forToken: TestJWT.hs256(secret: Self.secret, claims: claims)).role == .admin)
        claims["aud"] = ["grafana", "baton"]
        #expect(try await verifier.caller(forToken: TestJWT.hs256(secret: Self.secret, claims: claims)).role == .admin)
        claims["aud"] = ["grafana"]
        #expect(await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: claims))?.contains("aud") == true)
        claims["aud"] = nil
        #expect(await self.refusal(verifier, TestJWT.hs256(secret: Self.secret, claims: claims))?.contains("aud") == true)

        // Not configured: neither is checked.
        var any = TestJWT.claims()
        any["iss"] = "whoever"
        any["aud"] = "whatever"
        #expect(try await self.hs256().caller(forToken: TestJWT.hs256(secret: Self.secret, claims: any)).role == .admin)
    }

    @Test func secretFiles() async throws {
        // A trailing newline (echo > file) is not part of the secret.
        let path = try TestJWT.file(Self.secret + Array("\n".utf8), mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let verifier = try await JWTVerifier(hs256SecretFile: path)
        #expect(try await verifier.caller(forToken: TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims())).role == .admin)

        let readable = try TestJWT.file(Self.secret, mode: 0o644)
        defer { try? FileManager.default.removeItem(atPath: readable) }
        let error = await #expect(throws: JWTVerifier.SetupError.self) { try await JWTVerifier(hs256SecretFile: readable) }
        #expect(error?.description.contains("may be read by group or others") == true)
        #expect(error?.description.contains(String(decoding: Self.secret, as: UTF8.self)) == false)
        _ = try await JWTVerifier(hs256SecretFile: readable, allowReadableByOthers: true)

        let short = try TestJWT.file(Array("too-short\n".utf8), mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: short) }
        let shortError = await #expect(throws: JWTVerifier.SetupError.self) { try await JWTVerifier(hs256SecretFile: short) }
        #expect(shortError?.description.contains("at least 32") == true)

        let pem = try TestJWT.file(Array(TestJWT.rsaKey.publicKey.pemRepresentation.utf8), mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: pem) }
        let pemError = await #expect(throws: JWTVerifier.SetupError.self) { try await JWTVerifier(hs256SecretFile: pem) }
        #expect(pemError?.description.contains("--jwt-public-key-file") == true)

        await #expect(throws: JWTVerifier.SetupError.self) { try await JWTVerifier(hs256SecretFile: "/nonexistent/jwt-secret") }
    }

    @Test func publicKeyFiles() async throws {
        let path = try TestJWT.file(Array(TestJWT.p256Key.publicKey.pemRepresentation.utf8), mode: 0o644)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try await JWTVerifier(publicKeyFile: path).algorithm == .es256, "a public key may be world-readable")

        let refused: [(String, String)] = [
            (TestJWT.rsaKey.pemRepresentation, "private key"),
            (TestJWT.p256Key.pemRepresentation, "private key"),
            (P384.Signing.PrivateKey().publicKey.pemRepresentation, "P-256"),
            (try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024)).publicKey.pemRepresentation, "at least 2048"),
            ("just some text", "PEM"),
            ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "RSA or EC P-256"),
        ]
        for (pem, expected) in refused {
            let error = await #expect(throws: JWTVerifier.SetupError.self) { try await JWTVerifier(publicKeyPEM: pem) }
            #expect(error?.description.contains(expected) == true, "\(error?.description ?? "accepted") for \(expected)")
        }
    }

    @Test func keysAndTokensTogether() async throws {
        let keys = try APIKeys(text: "ops admin an-api-key-for-ops\nci submitter an-api-key-for-ci billing")
        let authenticator = Authenticator(keys: keys, tokens: try await self.hs256())
        #expect(!authenticator.isOpen)
        #expect(try await authenticator.caller(authorization: "Bearer an-api-key-for-ci").keyID == "ci")
        let token = TestJWT.hs256(secret: Self.secret, claims: TestJWT.claims(sub: "bob", role: "viewer", tenant: "billing"))
        let caller = try await authenticator.caller(authorization: "Bearer \(token)")
        #expect(caller.keyID == "jwt:bob")
        #expect(caller.role == .viewer)
        await #expect(throws: Authenticator.Refusal.self) { try await authenticator.caller(authorization: "Bearer unknown-key") }
        await #expect(throws: Authenticator.Refusal.self) { try await authenticator.caller(authorization: nil) }

        // Tokens alone: not an open node.
        let tokensOnly = Authenticator(keys: nil, tokens: try await self.hs256())
        #expect(!tokensOnly.isOpen)
        await #expect(throws: Authenticator.Refusal.self) { try await tokensOnly.caller(authorization: nil) }
        await #expect(throws: Authenticator.Refusal.self) { try await tokensOnly.caller(authorization: "Bearer an-api-key-for-ops") }
    }
}

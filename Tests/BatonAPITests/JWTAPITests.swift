import BatonAuth
import BatonModel
import BatonProto
import BatonTestSupport
import Foundation
import GRPCCore
import XCTest

/// JWTs over gRPC, on a node that takes API keys too: roles, refusals and tenants.
final class JWTAPITests: XCTestCase {
    private static let secret = Array("jwt-api-tests-\(UUID().uuidString)".utf8)
    private static let opsKey = "ops-\(UUID().uuidString)"

    private var harness: APIHarness!
    private var alpha = ""
    private var beta = ""

    override func setUp() async throws {
        let unique = TestEnvironment.uniqueName("jwt")
        self.alpha = "alpha.\(unique)"
        self.beta = "beta.\(unique)"
        let authenticator = Authenticator(
            keys: try APIKeys(text: "ops admin \(Self.opsKey)"),
            tokens: try await JWTVerifier(hs256Secret: Self.secret, configuration: .init(issuer: "https://idp.test"))
        )
        self.harness = try await APIHarness(authenticator: authenticator)
    }

    override func tearDown() async throws {
        try await self.harness.mysql.execute(
            "DELETE FROM task_status_count WHERE tenant IN (?, ?)", [.string(self.alpha), .string(self.beta)]
        )
        try await self.harness.shutdown()
    }

    private static func token(sub: String, role: String, tenant: String? = "default", expiresIn: TimeInterval = 60, secret: [UInt8] = secret) -> String {
        var claims = TestJWT.claims(sub: sub, role: role, tenant: tenant, expiresIn: expiresIn)
        claims["iss"] = "https://idp.test"
        return TestJWT.hs256(secret: secret, claims: claims)
    }

    func testRolesAndRefusals() async throws {
        // An admin's token configures a type, as an admin key would.
        let type = try await self.harness.configure("roles", apiKey: Self.token(sub: "ops-bot", role: "admin"))
        let harness = self.harness!

        let viewer = Self.token(sub: "grafana", role: "viewer")
        let denied = await APIHarness.code {
            try await harness.withClient(apiKey: viewer) { tasks, _ in _ = try await tasks.createTask(.with { $0.taskType = type }) }
        }
        XCTAssertEqual(denied, .permissionDenied)
        let viewerReads = await APIHarness.code {
            try await harness.withClient(apiKey: viewer) { tasks, _ in _ = try await tasks.listTasks(.with { $0.taskType = type }) }
        }
        XCTAssertNil(viewerReads, "a viewer's token may read")

        let refused: [(String, String)] = [
            ("expired", Self.token(sub: "ops-bot", role: "admin", expiresIn: -60)),  // past the 30 s leeway
            ("bad signature", Self.token(sub: "ops-bot", role: "admin", secret: Array("not-the-node-secret-\(UUID().uuidString)".utf8))),
        ]
        for (name, token) in refused {
            do {
                try await harness.withClient(apiKey: token) { _, admin in _ = try await admin.listTaskConfigs(.init()) }
                XCTFail("\(name): accepted")
            } catch let error as RPCError {
                XCTAssertEqual(error.code, .unauthenticated, name)
                XCTAssertFalse(error.message.contains(token), "\(name): the token is echoed")
            }
        }
        let expiredMessage = await {
            do {
                try await harness.withClient(apiKey: refused[0].1) { tasks, _ in _ = try await tasks.getStats(.init()) }
                return ""
            } catch { return (error as? RPCError)?.message ?? "\(error)" }
        }()
        XCTAssertEqual(expiredMessage, "token expired")

        // The key file still works beside tokens.
        let byKey = await APIHarness.code {
            try await harness.withClient(apiKey: Self.opsKey) { _, admin in _ = try await admin.getTaskConfig(.with { $0.taskType = type }) }
        }
        XCTAssertNil(byKey)
    }

    func testASubmittersTaskBelongsToItsTokensTenant() async throws {
        let type = try await self.harness.configure("tenant", apiKey: Self.opsKey)
        let harness = self.harness!
        let alphaCI = Self.token(sub: "alpha-ci", role: "submitter", tenant: self.alpha)
        let betaCI = Self.token(sub: "beta-ci", role: "submitter", tenant: self.beta)
        let id = try await harness.withClient(apiKey: alphaCI) { tasks, _ in
            try await tasks.createTask(.with { $0.taskType = type }).task.taskID
        }
        let row = try await harness.mysql.query("SELECT tenant FROM task WHERE task_id = ?", [.string(id)])
        XCTAssertEqual(row.first?.string("tenant"), self.alpha)

        // Beta's token: as if the task did not exist.
        try await harness.withClient(apiKey: betaCI) { tasks, _ in
            let getCode = await APIHarness.code { _ = try await tasks.getTask(.with { $0.taskID = id }) }
            let cancelCode = await APIHarness.code { _ = try await tasks.cancelTask(.with { $0.taskID = id }) }
            XCTAssertEqual([getCode, cancelCode], [.notFound, .notFound])
            let listed = try await tasks.listTasks(.with { $0.taskType = type }).tasks.map(\.taskID)
            XCTAssertFalse(listed.contains(id))
        }
        // Alpha's viewer token sees it; an admin token in any tenant.
        let alphaViewer = Self.token(sub: "alpha-dash", role: "viewer", tenant: self.alpha)
        let seen = try await harness.withClient(apiKey: alphaViewer) { tasks, _ in try await tasks.getTask(.with { $0.taskID = id }).task.taskID }
        XCTAssertEqual(seen, id)
        let adminListed = try await harness.withClient(apiKey: Self.token(sub: "ops-bot", role: "admin")) { tasks, _ in
            try await tasks.listTasks(.with { $0.taskType = type }).tasks.map(\.taskID)
        }
        XCTAssertEqual(adminListed, [id])

        // Audit lines name the token's subject (never the token).
        let logs = try await harness.withClient(apiKey: alphaCI) { tasks, _ in
            _ = try await tasks.cancelTask(.with { $0.taskID = id; $0.reason = "changed my mind" })
            return try await tasks.getTaskLogs(.with { $0.taskID = id }).logs.map(\.message)
        }
        XCTAssertTrue(logs.contains { $0.contains("jwt:alpha-ci") }, "\(logs)")
        XCTAssertFalse(logs.contains { $0.contains(alphaCI) })
    }
}

import BatonAuth
import BatonModel
import BatonProto
import BatonService
import BatonTestSupport
import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import XCTest

/// API keys and roles against every RPC, audit lines, and the executor allow-list.
final class SecurityTests: XCTestCase {
    private static let adminKey = "admin-secret-\(UUID().uuidString)"
    private static let submitterKey = "submitter-secret-\(UUID().uuidString)"
    private static let viewerKey = "viewer-secret-\(UUID().uuidString)"

    private var harness: APIHarness!

    override func setUp() async throws {
        let viewerDigest = SHA256.hash(data: Array(Self.viewerKey.utf8)).map { String(format: "%02x", $0) }.joined()
        let keys = try APIKeys(text: """
            # id role key
            ops admin \(Self.adminKey)
            ci submitter \(Self.submitterKey)   # the CI pipeline
            dash viewer sha256:\(viewerDigest)
            """)
        var limits = ValidationLimits()
        limits.executorAllowList = try ExecutorAllowList(parsing: "127.0.0.1,payments.internal")
        self.harness = try await APIHarness(keys: keys, limits: limits)
    }

    override func tearDown() async throws {
        try await self.harness.shutdown()
    }

    func testEveryRoleAgainstEveryRPC() async throws {
        let type = try await self.harness.configure("auth", apiKey: Self.adminKey)
        let harness = self.harness!
        let existing = try await harness.withClient(apiKey: Self.submitterKey) { tasks, _ in
            try await tasks.createTask(.with { $0.taskType = type }).task.taskID
        }
        typealias Call = @Sendable (Baton_V1_TaskService.Client<HTTP2ClientTransport.Posix>, Baton_V1_AdminService.Client<HTTP2ClientTransport.Posix>) async throws -> Void
        let calls: [(String, Role, Call)] = [
            ("CreateTask", .submitter, { tasks, _ in _ = try await tasks.createTask(.with { $0.taskType = type }) }),
            ("BatchCreateTasks", .submitter, { tasks, _ in _ = try await tasks.batchCreateTasks(.with { $0.tasks = [.with { $0.taskType = type }] }) }),
            ("CancelTask", .submitter, { tasks, _ in _ = try await tasks.cancelTask(.with { $0.taskID = TaskID.make() }) }),
            ("GetTask", .viewer, { tasks, _ in _ = try await tasks.getTask(.with { $0.taskID = existing }) }),
            ("ListTasks", .viewer, { tasks, _ in _ = try await tasks.listTasks(.with { $0.taskType = type }) }),
            ("GetTaskLogs", .viewer, { tasks, _ in _ = try await tasks.getTaskLogs(.with { $0.taskID = existing }) }),
            ("WatchTask", .viewer, { tasks, _ in
                try await tasks.watchTask(.with { $0.taskID = TaskID.make() }) { response in for try await _ in response.messages {} }
            }),
            ("GetStats", .viewer, { tasks, _ in _ = try await tasks.getStats(.init()) }),
            ("PutTaskConfig", .admin, { _, admin in
                _ = try await admin.putTaskConfig(.with { $0.config = .with { $0.taskType = type; $0.executor = "local"; $0.timeoutSeconds = 30; $0.enabled = true } })
            }),
            ("GetTaskConfig", .admin, { _, admin in _ = try await admin.getTaskConfig(.with { $0.taskType = type }) }),
            ("ListTaskConfigs", .admin, { _, admin in _ = try await admin.listTaskConfigs(.init()) }),
        ]
        let callers: [(String, String?, Role?)] = [
            ("no key", nil, nil), ("unknown key", "not-a-key", nil),
            ("viewer", Self.viewerKey, .viewer), ("submitter", Self.submitterKey, .submitter), ("admin", Self.adminKey, .admin),
        ]
        for (callerName, key, role) in callers {
            for (method, required, call) in calls {
                var code: RPCError.Code?
                do {
                    try await harness.withClient(apiKey: key, call)
                } catch let error as RPCError {
                    code = error.code
                }
                let expected: RPCError.Code? =
                    if role == nil { .unauthenticated } else if role! < required { .permissionDenied } else { nil }
                if let expected {
                    XCTAssertEqual(code, expected, "\(callerName) → \(method)")
                } else {
                    // Allowed: any outcome but an authentication or permission error.
                    XCTAssertNotEqual(code, .unauthenticated, "\(callerName) → \(method)")
                    XCTAssertNotEqual(code, .permissionDenied, "\(callerName) → \(method)")
                }
            }
        }
        // Health stays open.
        let health = try await harness.withRawClient { client in try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init()).status }
        XCTAssertEqual(health, .serving)
    }

    func testCancelIsAuditedWithTheKeyID() async throws {
        let type = try await self.harness.configure("audit", apiKey: Self.adminKey)
        let harness = self.harness!
        let id = try await harness.withClient(apiKey: Self.submitterKey) { tasks, _ in
            let id = try await tasks.createTask(.with { $0.taskType = type }).task.taskID
            _ = try await tasks.cancelTask(.with { $0.taskID = id; $0.reason = "duplicate order" })
            return id
        }
        let logs = try await harness.withClient(apiKey: Self.viewerKey) { tasks, _ in
            try await tasks.getTaskLogs(.with { $0.taskID = id }).logs.map(\.message)
        }
        XCTAssertEqual(logs, ["cancelled: duplicate order (by key ci)"])
        XCTAssertFalse(logs.joined().contains(Self.submitterKey))
    }

    func testExecutorEndpointsOutsideTheAllowListAreRejected() async throws {
        let harness = self.harness!
        let type = harness.taskType("remote")
        for (executor, endpoint, allowed) in [
            ("http", "http://127.0.0.1:9000/run", true), ("http", "http://evil.example.com/run", false),
            ("grpc", "payments.internal:443", true), ("grpc", "10.0.0.7:50051", false),
            ("grpc", "grpcs://payments.internal:443", true), ("grpc", "grpcs://user:pw@payments.internal:443", false),
            ("http", "http://[::ffff:169.254.169.254]/latest/meta-data", false),
        ] {
            var code: RPCError.Code?
            do {
                _ = try await harness.withClient(apiKey: Self.adminKey) { _, admin in
                    try await admin.putTaskConfig(.with {
                        $0.config = .with {
                            $0.taskType = type
                            $0.executor = executor
                            $0.endpoint = endpoint
                            $0.timeoutSeconds = 10
                            $0.enabled = true
                        }
                    })
                }
            } catch let error as RPCError {
                code = error.code
            }
            XCTAssertEqual(code, allowed ? nil : .invalidArgument, endpoint)
        }
    }

    /// Every RPC the node serves has an entry, and no entry names an RPC
    /// that is gone: a new RPC of the contract fails here until someone
    /// decides who may call it (until then the node refuses it).
    func testTheAuthorizationTableNamesEveryRPCOfTheContract() {
        let served = Baton_V1_TaskService.Method.descriptors + Baton_V1_AdminService.Method.descriptors
            + Grpc_Health_V1_Health.Method.descriptors + Grpc_Reflection_V1_ServerReflection.Method.descriptors
        for method in served {
            XCTAssertNotNil(AccessTable.methods[method.fullyQualifiedMethod], "\(method.fullyQualifiedMethod) has no entry")
        }
        XCTAssertEqual(Set(AccessTable.methods.keys), Set(served.map(\.fullyQualifiedMethod)))
        XCTAssertEqual(AccessTable.methods["baton.v1.TaskService/GetTask"], .role(.viewer))
        XCTAssertEqual(AccessTable.methods["baton.v1.TaskService/BulkRetryTasks"], .role(.admin))
    }

    func testKeyFileRules() {
        XCTAssertThrowsError(try APIKeys(text: "only-two fields"))
        XCTAssertThrowsError(try APIKeys(text: "id superuser key"))
        XCTAssertThrowsError(try APIKeys(text: "id admin sha256:abc"))
        XCTAssertThrowsError(try APIKeys(text: "# nothing but comments\n"))
        let keys = try? APIKeys(text: "a viewer k1\nb admin k2")
        XCTAssertEqual(keys?.entry(forKey: "k2")?.id, "b")
        XCTAssertNil(keys?.entry(forKey: "k3"))
        // A `#` inside a key is the key's; one after whitespace or at the start of a line is a comment.
        let hashes = try? APIKeys(text: "# ops keys\nops admin s3cr#t!@$%^&*()  # rotated monthly\n  # indented comment\n")
        XCTAssertEqual(hashes?.entry(forKey: "s3cr#t!@$%^&*()")?.id, "ops")
        XCTAssertNil(hashes?.entry(forKey: "s3cr"), "never cut at the #")
        XCTAssertThrowsError(try APIKeys(text: "ci submitter #not-a-key"), "a key that is a comment is refused, not read as a key")
    }

    func testAKeyFileOthersMayReadIsRefusedUnlessAllowed() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString).txt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "ops admin a-secret-key\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        XCTAssertThrowsError(try APIKeys(contentsOf: path)) { error in
            XCTAssertTrue("\(error)".contains("chmod 600"), "\(error)")
            XCTAssertFalse("\(error)".contains("a-secret-key"))
        }
        XCTAssertEqual(try APIKeys(contentsOf: path, allowReadableByOthers: true).entries.count, 1)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        XCTAssertEqual(try APIKeys(contentsOf: path).entry(forKey: "a-secret-key")?.id, "ops")
    }
}

import BatonClient
import BatonProto
import BatonTestSupport
import Foundation
import GRPCCore
import XCTest

/// Two services sharing a real `baton-node` with a key file: each sees and
/// changes only its own tasks and keys; the admin sees both.
final class TenantNodeTests: XCTestCase {
    func testTwoTenantsOnARealNode() async throws {
        let secret = UUID().uuidString
        let keyFile = TestEnvironment.repositoryRoot.appendingPathComponent(".run/tenant-keys-\(secret.prefix(8))").path
        try """
            ops admin ops-\(secret)
            billing-ci submitter billing-\(secret) billing
            search-ci submitter search-\(secret) search
            """.write(toFile: keyFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyFile)
        defer { try? FileManager.default.removeItem(atPath: keyFile) }
        // No worker runs the type: tasks stay QUEUED for the test to look at.
        let node = try WireNode(arguments: ["--api-keys-file", keyFile, "--task-types", "none_here"])
        defer { node.stop() }
        try await node.waitReady()
        let port = node.grpcPort
        let type = "tenant_\(node.id.suffix(8))"
        try await withBatonClient(host: "127.0.0.1", port: port, apiKey: "ops-\(secret)") { client in
            _ = try await client.admin.putTaskConfig(.with {
                $0.config = .with { $0.taskType = type; $0.executor = "local"; $0.endpoint = "noop"; $0.timeoutSeconds = 30; $0.enabled = true }
            })
        }
        let billing = try await withBatonClient(host: "127.0.0.1", port: port, apiKey: "billing-\(secret)") { client in
            try await client.createTask(type: type, idempotencyKey: "invoice-1")
        }
        let (code, listed, search) = try await withBatonClient(host: "127.0.0.1", port: port, apiKey: "search-\(secret)") { client in
            var code: RPCError.Code?
            do { _ = try await client.cancelTask(billing.taskID) } catch let error as RPCError { code = error.code }
            let listed = try await client.tasks.listTasks(.with { $0.taskType = type }).tasks.map(\.taskID)
            // The same key makes search its own task: billing's is neither squatted nor revealed.
            let search = try await client.createTask(type: type, idempotencyKey: "invoice-1")
            return (code, listed, search)
        }
        XCTAssertEqual(code, .notFound)
        XCTAssertEqual(listed, [])
        XCTAssertNotEqual(search.taskID, billing.taskID)
        let (billingNow, all) = try await withBatonClient(host: "127.0.0.1", port: port, apiKey: "ops-\(secret)") { client in
            let state = (try await client.getTask(billing.taskID), try await client.tasks.listTasks(.with { $0.taskType = type }).tasks.map(\.taskID))
            // Leave nothing waiting for the tests that look at every waiting task.
            for id in [billing.taskID, search.taskID] { _ = try await client.cancelTask(id) }
            _ = try await client.admin.deleteTaskConfig(.with { $0.taskType = type })
            return state
        }
        XCTAssertEqual(billingNow.status, .queued, "search's cancel changed nothing")
        XCTAssertEqual(Set(all), [billing.taskID, search.taskID])
    }
}

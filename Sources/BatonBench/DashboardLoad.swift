import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// What one open dashboard asks of a node: the overview's and task list's
/// reads every `every` (the pages' refresh), and a task's live events held
/// open — as the page's own script does.
struct DashboardLoad: Sendable {
    let base: String
    let key: String?
    var every: Duration = .seconds(2)

    /// The reads of one refresh, by name and path.
    static let refresh = [
        ("stats", "/api/v1/stats"), ("history", "/api/v1/history"), ("dead letters", "/api/v1/dead-letters"),
        ("tasks, newest", "/api/v1/tasks?pageSize=50"), ("tasks, failed", "/api/v1/tasks?statuses=FAILED,TIMEOUT&pageSize=50"),
        ("task types", "/api/v1/task-types"), ("whoami", "/api/v1/whoami"),
    ]

    func get(_ path: String, timeout: TimeAmount = .seconds(10)) async throws -> (status: UInt, body: ByteBuffer) {
        var request = HTTPClientRequest(url: self.base + path)
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        return (response.status.code, try await response.body.collect(upTo: 16 << 20))
    }

    func post(_ path: String, json: String) async throws -> UInt {
        var request = HTTPClientRequest(url: self.base + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 20)
        return response.status.code
    }

    /// Refreshes until cancelled; a task's events stay open beside.
    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                // The newest task's live state, reopened when it ends.
                while !Task.isCancelled {
                    if let list = try? await self.get("/api/v1/tasks?pageSize=1"),
                        let object = try? JSONSerialization.jsonObject(with: Data(list.body.readableBytesView)) as? [String: Any],
                        let id = (object["tasks"] as? [[String: Any]])?.first?["taskId"] as? String
                    {
                        _ = try? await self.get("/api/v1/tasks/\(id)/events", timeout: .seconds(60))
                    }
                    try? await Task.sleep(for: self.every)
                }
            }
            while !Task.isCancelled {
                for (_, path) in Self.refresh { _ = try? await self.get(path) }
                try? await Task.sleep(for: self.every)
            }
        }
    }
}

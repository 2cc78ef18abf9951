import BatonModel
import BatonProto
import BatonREST
import BatonService
import Foundation
import SwiftProtobuf
import GRPCCore
import Testing

/// The REST API's pure parts: statuses, query strings, origins.
@Suite struct RESTLogicTests {
    @Test(arguments: [
        (RPCError.Code.invalidArgument, 400, "INVALID_ARGUMENT"), (.unauthenticated, 401, "UNAUTHENTICATED"),
        (.permissionDenied, 403, "PERMISSION_DENIED"), (.notFound, 404, "NOT_FOUND"), (.failedPrecondition, 409, "FAILED_PRECONDITION"),
        (.aborted, 409, "ABORTED"), (.resourceExhausted, 429, "RESOURCE_EXHAUSTED"), (.unimplemented, 501, "UNIMPLEMENTED"),
        (.unavailable, 503, "UNAVAILABLE"), (.deadlineExceeded, 504, "DEADLINE_EXCEEDED"), (.internalError, 500, "INTERNAL"),
    ])
    func statusesFollowTheGRPCCode(code: RPCError.Code, status: Int, name: String) {
        #expect(ProblemStatus.httpStatus(code) == status)
        #expect(ProblemStatus.codeName(code) == name)
    }

    @Test func listQueriesReadAsTheRequestsFields() throws {
        let request = try ListTasksQuery.request([
            ("statuses", "failed,TASK_STATUS_TIMEOUT"), ("status", "queued"), ("taskType", "email"), ("pageSize", "50"),
            ("createdAfter", "2026-12-01T00:00:00Z"), ("oldestFirst", "true"), ("workerId", "w1"), ("idempotencyKey", "k"),
        ])
        #expect(request.statuses == [.failed, .timeout, .queued])
        #expect(request.taskType == "email")
        #expect(request.pageSize == 50)
        #expect(request.createdAfter.seconds == 1_796_083_200)
        #expect(request.oldestFirst)
        #expect(request.workerID == "w1")
        #expect(request.idempotencyKey == "k")
    }

    @Test(arguments: [
        [("statuses", "NOPE")], [("pageSize", "many")], [("oldestFirst", "yes")], [("createdAfter", "yesterday")], [("colour", "red")],
        [("taskType", "a"), ("taskType", "b")],
    ])
    func badQueriesAreRefused(parameters: [(String, String)]) {
        #expect(throws: (any Error).self) { try ListTasksQuery.request(parameters.map { (key: $0.0, value: $0.1) }) }
    }

    @Test func originsMustNameTheNodeItself() {
        #expect(OriginCheck.isSameOrigin("http://127.0.0.1:8081", authority: "127.0.0.1:8081"))
        #expect(OriginCheck.isSameOrigin("https://Baton.example", authority: "baton.example"))
        #expect(!OriginCheck.isSameOrigin("http://evil.example", authority: "127.0.0.1:8081"))
        #expect(!OriginCheck.isSameOrigin("http://127.0.0.1:8082", authority: "127.0.0.1:8081"))
        #expect(!OriginCheck.isSameOrigin("null", authority: "127.0.0.1:8081"))
        #expect(!OriginCheck.isSameOrigin("http://127.0.0.1:8081/x", authority: "127.0.0.1:8081"))
        #expect(!OriginCheck.isSameOrigin("http://127.0.0.1:8081", authority: nil))
    }

    @Test func deadLettersGroupByTypeStatusAndErrorHead() {
        let now = Date()
        let long = String(repeating: "x", count: DeadLetterGroup.errorLength)
        let letters: [(taskID: String, taskType: String, status: TaskStatus, error: String, at: Date)] = [
            ("t1", "email", .failed, "smtp down", now),
            ("t2", "email", .failed, "smtp down", now - 1),
            ("t3", "email", .timeout, "smtp down", now - 2),
            ("t4", "email", .failed, long + " tail one", now - 3),
            ("t5", "email", .failed, long + " tail two", now - 4),
            ("t6", "sms", .failed, "smtp down", now - 5),
        ]
        let groups = DeadLetterGroup.group(letters)
        #expect(groups.count == 4)
        #expect(groups[0].taskIDs == ["t1", "t2"] && groups[0].lastAt == now)
        #expect(groups[1].taskIDs == ["t4", "t5"], "errors differing past their head group together")
        #expect(Set(groups.dropFirst(2).map(\.taskType)) == ["email", "sms"])
    }

    @Test func summariesCombineByCountAndBound() {
        let combined = LatencyWindow.Summary.combined([.init(count: 3, p50: 1, p99: 5), .init(count: 1, p50: 9, p99: 30), .init(count: 0, p50: 99, p99: 99)])
        #expect(combined == LatencyWindow.Summary(count: 4, p50: 3, p99: 30))
        #expect(LatencyWindow.Summary.combined([]) == nil)
    }

    @Test func timestampsKeepTheStoredMicroseconds() throws {
        let stamp = Google_Protobuf_Timestamp(microseconds: Date(timeIntervalSince1970: 1_764_644_054.039754))
        #expect(stamp.seconds == 1_764_644_054)
        #expect(stamp.nanos == 39_754_000)
        #expect(try stamp.jsonString() == "\"2025-12-02T02:54:14.039754Z\"")
    }

    @Test func latencyWindowsDrainPercentilesAndStayBounded() {
        let window = LatencyWindow(capacity: 100)
        #expect(window.drain() == nil)
        for value in 1...1_000 { window.record(Double(value)) }
        let summary = window.drain()
        #expect(summary?.count == 1_000)
        // A uniform sample of 1…1000: its median lies near the middle.
        #expect((300.0...700.0).contains(summary?.p50 ?? 0))
        #expect(window.drain() == nil, "each interval starts empty")
        for value in 1...100 { window.record(Double(value)) }
        #expect(window.drain() == LatencyWindow.Summary(count: 100, p50: 50, p99: 99))
    }
}

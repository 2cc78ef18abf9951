import BatonStore
import Foundation

/// Opaque page tokens: the position after the last item returned, bound to
/// the filter it was issued for. Positions are ids (time-ordered task ids,
/// increasing log ids), so pages stay correct while rows are inserted.
struct PageToken: Equatable {
    var filter: String
    var position: String

    var encoded: String {
        Data("v1\n\(self.filter)\n\(self.position)".utf8).base64EncodedString()
    }

    /// Nil for an empty token; throws for one this server did not issue for this filter.
    static func decode(_ text: String, filter: String) throws(RPCErrorBox) -> PageToken? {
        if text.isEmpty { return nil }
        guard let data = Data(base64Encoded: text) else { throw RPCErrorBox("page_token is not a token this server issued") }
        let parts = String(decoding: data, as: UTF8.self).split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1" else { throw RPCErrorBox("page_token is not a token this server issued") }
        guard parts[1] == filter else { throw RPCErrorBox("page_token was issued for other filters") }
        return PageToken(filter: filter, position: String(parts[2]))
    }
}

extension PageToken {
    /// A ListTasks filter as a token's binding: a token only pages the filter it came from.
    static func filter(_ query: TaskQuery) -> String {
        let statuses = query.statuses.map { String($0.rawValue) }.sorted().joined(separator: ",")
        let millis = { (date: Date?) in date.map { String(Int64(($0.timeIntervalSince1970 * 1_000_000).rounded())) } ?? "" }
        let key = query.idempotencyKey.map { Data($0.utf8).base64EncodedString() } ?? ""
        return [query.taskType ?? "", statuses, millis(query.createdAfter), millis(query.createdBefore), query.workerID ?? "", key,
                query.oldestFirst ? "asc" : "desc"].joined(separator: "|") + (query.scheduleID.map { "|s:" + $0 } ?? "")
            + (query.dependsOn.map { "|d:" + $0 } ?? "")
    }
}

/// A validation message on its way to becoming INVALID_ARGUMENT.
struct RPCErrorBox: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

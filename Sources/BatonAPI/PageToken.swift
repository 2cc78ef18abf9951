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

/// A validation message on its way to becoming INVALID_ARGUMENT.
struct RPCErrorBox: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

import Foundation
import GRPCCore
import Hummingbird
import NIOCore

/// An error answer, RFC 9457 `application/problem+json`, with the gRPC code
/// name beside the HTTP status.
struct Problem: Error, Encodable {
    var type = "about:blank"
    var title: String
    var status: Int
    var code: String
    var detail: String

    init(_ error: RPCError) {
        self.init(status: ProblemStatus.httpStatus(error.code), code: ProblemStatus.codeName(error.code), detail: error.message)
    }

    init(status: Int, code: String, detail: String) {
        self.status = status
        self.code = code
        self.detail = detail
        self.title = Self.titles[status] ?? "Error"
    }

    static let titles = [
        400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
        413: "Content Too Large", 415: "Unsupported Media Type", 429: "Too Many Requests", 499: "Client Closed Request",
        500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable", 504: "Gateway Timeout",
    ]

    static func invalid(_ detail: String) -> Problem { Problem(status: 400, code: "INVALID_ARGUMENT", detail: detail) }

    var json: Data { (try? JSONEncoder().encode(self)) ?? Data() }

    var response: Response {
        Response(
            status: .init(code: self.status),
            headers: [.contentType: "application/problem+json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: self.json))
        )
    }
}

import BatonService
import Foundation
import Hummingbird
import NIOCore
import SwiftProtobuf

/// Bodies in the proto JSON mapping, as the contract's messages read over
/// gRPC: lowerCamelCase names, enums by name, unknown fields refused.
enum ProtoJSON {
    /// Request bodies past this are refused (the gRPC API takes 4 MiB messages).
    static let maxBodyBytes = 5 << 20

    static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, from request: Request, context: some RequestContext) async throws -> M {
        let body = try await Self.body(of: request)
        if body.readableBytes == 0 { return M() }
        return try Self.decode(type, from: Array(body.readableBytesView))
    }

    /// The request's body, refused (413) past `maxBodyBytes`.
    static func body(of request: Request) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: Self.maxBodyBytes)
        } catch {
            throw Problem(status: 413, code: "RESOURCE_EXHAUSTED", detail: "the request body is larger than \(Self.maxBodyBytes) bytes")
        }
    }

    static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, from bytes: [UInt8]) throws -> M {
        do {
            return try M(jsonUTF8Bytes: bytes, options: JSONDecodingOptions())
        } catch {
            throw Problem.invalid("the body is not a valid \(M.protoMessageName) in the proto JSON mapping: \(error)")
        }
    }

    static func response<M: SwiftProtobuf.Message>(_ message: M, status: HTTPResponse.Status = .ok) throws -> Response {
        let bytes: [UInt8] = try message.jsonUTF8Bytes()
        return Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func response(encodable value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Google_Protobuf_Timestamp(microseconds: date).jsonString().trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
        }
        let data = try encoder.encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

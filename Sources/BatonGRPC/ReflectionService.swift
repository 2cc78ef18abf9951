import BatonProto
import Foundation
import GRPCCore
import SwiftProtobuf

/// `grpc.reflection.v1.ServerReflection` over the descriptor set built from
/// `proto/`, so grpcurl and similar tools work without our proto files.
public struct ReflectionService: Grpc_Reflection_V1_ServerReflection.SimpleServiceProtocol {
    private let files: [String: Google_Protobuf_FileDescriptorProto]
    private let fileBySymbol: [String: String]
    private let serviceNames: [String]

    public init(descriptorSet: Data = DescriptorSet.data, services: [String]) throws {
        let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: descriptorSet)
        var files: [String: Google_Protobuf_FileDescriptorProto] = [:]
        var fileBySymbol: [String: String] = [:]
        for file in set.file {
            files[file.name] = file
            let prefix = file.package.isEmpty ? "" : file.package + "."
            for service in file.service {
                fileBySymbol[prefix + service.name] = file.name
                for method in service.method { fileBySymbol[prefix + service.name + "." + method.name] = file.name }
            }
            for message in file.messageType { Self.index(message, prefix: prefix, file: file.name, into: &fileBySymbol) }
            for enumeration in file.enumType { fileBySymbol[prefix + enumeration.name] = file.name }
        }
        self.files = files
        self.fileBySymbol = fileBySymbol
        self.serviceNames = services.sorted()
    }

    private static func index(_ message: Google_Protobuf_DescriptorProto, prefix: String, file: String, into table: inout [String: String]) {
        let name = prefix + message.name
        table[name] = file
        for nested in message.nestedType { self.index(nested, prefix: name + ".", file: file, into: &table) }
        for enumeration in message.enumType { table[name + "." + enumeration.name] = file }
    }

    public func serverReflectionInfo(
        request: RPCAsyncSequence<Grpc_Reflection_V1_ServerReflectionRequest, any Error>,
        response: RPCWriter<Grpc_Reflection_V1_ServerReflectionResponse>,
        context: ServerContext
    ) async throws {
        for try await message in request {
            try await response.write(self.answer(message))
        }
    }

    func answer(_ request: Grpc_Reflection_V1_ServerReflectionRequest) -> Grpc_Reflection_V1_ServerReflectionResponse {
        var reply = Grpc_Reflection_V1_ServerReflectionResponse()
        reply.validHost = request.host
        reply.originalRequest = request
        switch request.messageRequest {
        case .listServices:
            reply.listServicesResponse = .with { $0.service = self.serviceNames.map { name in .with { $0.name = name } } }
        case .fileByFilename(let name):
            reply.messageResponse = self.fileResponse(name)
        case .fileContainingSymbol(let symbol):
            if let file = self.fileBySymbol[symbol] {
                reply.messageResponse = self.fileResponse(file)
            } else {
                reply.messageResponse = Self.notFound("symbol \(symbol) not found")
            }
        case .fileContainingExtension, .allExtensionNumbersOfType:
            reply.messageResponse = Self.notFound("extensions are not used by this server")
        case .none:
            reply.messageResponse = .errorResponse(.with {
                $0.errorCode = Int32(RPCError.Code.invalidArgument.rawValue)
                $0.errorMessage = "empty request"
            })
        }
        return reply
    }

    /// The file and everything it imports, each once.
    private func fileResponse(_ name: String) -> Grpc_Reflection_V1_ServerReflectionResponse.OneOf_MessageResponse {
        guard self.files[name] != nil else { return Self.notFound("file \(name) not found") }
        var ordered: [String] = []
        var pending = [name]
        while let next = pending.popLast() {
            guard !ordered.contains(next), let file = self.files[next] else { continue }
            ordered.append(next)
            pending += file.dependency
        }
        let bytes = ordered.compactMap { try? self.files[$0]?.serializedBytes() as [UInt8]? }.map { Data($0) }
        return .fileDescriptorResponse(.with { $0.fileDescriptorProto = bytes })
    }

    private static func notFound(_ message: String) -> Grpc_Reflection_V1_ServerReflectionResponse.OneOf_MessageResponse {
        .errorResponse(.with {
            $0.errorCode = Int32(RPCError.Code.notFound.rawValue)
            $0.errorMessage = message
        })
    }
}

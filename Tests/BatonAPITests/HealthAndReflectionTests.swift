import BatonProto
import BatonTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import XCTest

final class HealthAndReflectionTests: XCTestCase {
    private var harness: APIHarness!

    override func setUp() async throws {
        self.harness = try await APIHarness()
    }

    override func tearDown() async throws {
        try await self.harness.shutdown()
    }

    func testHealthCheckAndWatch() async throws {
        let (overall, tasks, watched) = try await self.harness.withRawClient { client in
            let health = Grpc_Health_V1_Health.Client(wrapping: client)
            let overall = try await health.check(.init())
            let tasks = try await health.check(.with { $0.service = "baton.v1.TaskService" })
            let watched = try await health.watch(.init()) { response in
                for try await message in response.messages { return message.status }
                return .unknown
            }
            return (overall.status, tasks.status, watched)
        }
        XCTAssertEqual(overall, .serving)
        XCTAssertEqual(tasks, .serving)
        XCTAssertEqual(watched, .serving)
        let unknown = await XCTAssertThrowsRPC {
            _ = try await self.harness.withRawClient { client in
                try await Grpc_Health_V1_Health.Client(wrapping: client).check(.with { $0.service = "nope.Service" })
            }
        }
        XCTAssertEqual(unknown?.code, .notFound)
    }

    func testReflectionListsServicesAndDescribesSymbols() async throws {
        let replies = try await self.harness.withRawClient { client in
            let reflection = Grpc_Reflection_V1_ServerReflection.Client(wrapping: client)
            return try await reflection.serverReflectionInfo { writer in
                try await writer.write(.with { $0.listServices = "" })
                try await writer.write(.with { $0.fileContainingSymbol = "baton.v1.TaskService" })
                try await writer.write(.with { $0.fileContainingSymbol = "baton.v1.CreateTaskRequest" })
                try await writer.write(.with { $0.fileContainingSymbol = "no.such.Symbol" })
            } onResponse: { response in
                var replies: [Grpc_Reflection_V1_ServerReflectionResponse] = []
                for try await reply in response.messages { replies.append(reply) }
                return replies
            }
        }
        XCTAssertEqual(replies.count, 4)
        XCTAssertEqual(replies[0].listServicesResponse.service.map(\.name), ["baton.v1.AdminService", "baton.v1.TaskService", "grpc.health.v1.Health"])
        let files = try replies[1].fileDescriptorResponse.fileDescriptorProto.map { try Google_Protobuf_FileDescriptorProto(serializedBytes: $0) }
        XCTAssertEqual(files.first?.name, "baton/v1/task_service.proto")
        XCTAssertTrue(files.contains { $0.name == "google/protobuf/timestamp.proto" })
        XCTAssertEqual(files.first?.service.first?.method.count, 11)
        XCTAssertEqual(replies[2].fileDescriptorResponse.fileDescriptorProto.isEmpty, false)
        XCTAssertEqual(replies[3].errorResponse.errorCode, Int32(RPCError.Code.notFound.rawValue))
    }
}

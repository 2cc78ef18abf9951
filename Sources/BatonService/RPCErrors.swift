import BatonBroker
import BatonStore
import GRPCCore
import Logging

/// Maps what the stores throw to gRPC statuses: an unreachable Redis or
/// MySQL is UNAVAILABLE; anything else unexpected is INTERNAL (logged, never
/// echoed to the client).
public enum RPCErrors {
    static func invalid(_ message: String) -> RPCError {
        RPCError(code: .invalidArgument, message: message)
    }

    /// A method or field of the contract that comes with a later feature.
    static func unimplemented(_ feature: String) -> RPCError {
        RPCError(code: .unimplemented, message: "\(feature) is not available yet")
    }

    static func notFound(_ taskID: String) -> RPCError {
        RPCError(code: .notFound, message: "task \(taskID) not found")
    }

    public static func map(_ error: any Error, logger: Logger, operation: String) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as BrokerError where error.kind == .busy:
            return RPCError(code: .unavailable, message: "the node is saturated: no Redis connection came free in time; retry")
        case let error as StoreError where error.kind == .busy:
            return RPCError(code: .unavailable, message: "the node is saturated: no MySQL connection came free in time; retry")
        case let error as BrokerError where error.kind == .unavailable:
            return RPCError(code: .unavailable, message: "Redis is unavailable")
        case let error as StoreError where error.kind == .unavailable || error.kind == .transient:
            return RPCError(code: .unavailable, message: "MySQL is unavailable")
        case is CancellationError:
            return RPCError(code: .cancelled, message: "cancelled")
        default:
            logger.error("\(operation) failed", metadata: ["error": "\(error)"])
            return RPCError(code: .internalError, message: "\(operation) failed")
        }
    }

    /// Runs `body`, mapping any error it throws.
    static func guarding<T>(_ operation: String, logger: Logger, _ body: () async throws -> T) async throws(RPCError) -> T {
        do {
            return try await body()
        } catch {
            throw self.map(error, logger: logger, operation: operation)
        }
    }
}

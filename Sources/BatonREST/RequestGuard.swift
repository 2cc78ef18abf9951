import BatonAuth
import BatonModel
import BatonService
import GRPCCore
import Hummingbird
import Logging

/// What every REST request passes before its handler runs, in this order:
/// the CSRF rules for requests that change something (a JSON content type,
/// and the node's own `Origin` when a browser sends one), authentication
/// (the same `Authenticator` as gRPC), then the role the route needs. The
/// handler runs as the caller; whatever it throws becomes a problem answer.
struct RequestGuard: Sendable {
    let authenticator: Authenticator
    let logger: Logger

    static let changingMethods: Set<HTTPRequest.Method> = [.post, .put, .delete, .patch]

    func run(
        _ request: Request,
        operation: String,
        access: Access,
        _ handler: @Sendable () async throws -> Response
    ) async -> Response {
        do {
            if Self.changingMethods.contains(request.method) { try Self.checkCSRF(request) }
            let caller: Caller
            switch access {
            case .open:
                caller = .nobody
            case .role(let required):
                caller = try await self.authenticate(request)
                guard caller.role >= required else {
                    throw Problem(status: 403, code: "PERMISSION_DENIED", detail: "\(operation) needs the \(required.rawValue) role")
                }
            }
            return try await Caller.$current.withValue(caller) { try await handler() }
        } catch let problem as Problem {
            return problem.response
        } catch {
            return Problem(RPCErrors.map(error, logger: self.logger, operation: operation)).response
        }
    }

    func authenticate(_ request: Request) async throws -> Caller {
        do {
            return try await self.authenticator.caller(authorization: request.headers[.authorization])
        } catch {
            throw Problem(status: 401, code: "UNAUTHENTICATED", detail: error.message)
        }
    }

    /// A cross-site form or script can send neither a JSON content type
    /// (without a CORS preflight, which this server never grants) nor a
    /// foreign Origin that passes; no cookie is ever used for auth.
    static func checkCSRF(_ request: Request) throws {
        let contentType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard contentType == "application/json" else {
            throw Problem(status: 415, code: "INVALID_ARGUMENT", detail: "requests that change something must send Content-Type: application/json")
        }
        if let origin = request.headers[.origin], !OriginCheck.isSameOrigin(origin, authority: request.head.authority) {
            throw Problem(status: 403, code: "PERMISSION_DENIED", detail: "cross-origin requests are refused")
        }
    }
}

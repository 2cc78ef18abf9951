import Hummingbird
import NIOCore
import Logging
import NIOHTTP1

/// Plain routes as closures from a small request to a text response, for
/// `/health`-style endpoints and the stand-in business services of tests.
public enum SimpleRoutes {
    /// What a route sees of the request.
    public struct Request: Sendable {
        public var method: NIOHTTP1.HTTPMethod
        public var path: String
        public var headers: HTTPHeaders
        public var body: ByteBuffer
    }

    public struct Response: Sendable {
        public var status: HTTPResponseStatus
        public var contentType: String
        public var body: String

        public init(status: HTTPResponseStatus = .ok, contentType: String = "text/plain; charset=utf-8", body: String) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    public typealias Route = @Sendable (Request) async -> Response

    /// The largest request body read; larger requests get 413.
    static let maxBodyBytes = 1 << 20

    /// Adds each route for GET, POST, PUT and DELETE.
    public static func add(_ routes: [String: Route], to router: Router<BasicRequestContext>) {
        for (path, route) in routes {
            for method in [Hummingbird.HTTPRequest.Method.get, .post, .put, .delete] {
                router.on(RouterPath(path), method: method) { request, _ -> Hummingbird.Response in
                    let body = try await request.body.collect(upTo: Self.maxBodyBytes)
                    var headers = HTTPHeaders()
                    for field in request.headers { headers.add(name: field.name.rawName, value: field.value) }
                    let response = await route(
                        Request(method: NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue), path: request.uri.path, headers: headers, body: body)
                    )
                    return Hummingbird.Response(
                        status: .init(code: Int(response.status.code)),
                        headers: [.contentType: response.contentType],
                        body: .init(byteBuffer: ByteBuffer(string: response.body))
                    )
                }
            }
        }
    }

    /// A server of just these routes.
    public static func server(host: String, port: Int, routes: [String: Route], limits: HTTPLimits = HTTPLimits(), logger: Logger) -> HTTPServer {
        let router = Router()
        Self.add(routes, to: router)
        return HTTPServer(host: host, port: port, router: router, limits: limits, logger: logger)
    }
}

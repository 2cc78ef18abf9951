import Hummingbird
import NIOCore

/// The dashboard's files at `/ui` (the app's page for `/ui`), with
/// an entity tag so a reload costs a 304.
public enum StaticFiles {
    public static func add(to router: Router<BasicRequestContext>, assets: @escaping @Sendable (String) -> StaticAsset?) {
        router.get("/") { _, _ in Response(status: .found, headers: [.location: "/ui"]) }
        router.get("/ui") { request, _ in Self.serve("index.html", request: request, assets: assets) }
        router.get("/ui/{file}") { request, context in Self.serve(context.parameters.get("file") ?? "", request: request, assets: assets) }
    }

    static func serve(_ name: String, request: Request, assets: @Sendable (String) -> StaticAsset?) -> Response {
        guard let asset = assets(name) else {
            return Response(status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "not found\n")))
        }
        return Self.response(asset, request: request)
    }

    static func response(_ asset: StaticAsset, request: Request) -> Response {
        let etag = "\"\(asset.etag)\""
        var headers: HTTPFields = [.eTag: etag, .cacheControl: "no-cache", .contentType: asset.contentType]
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        if request.headers[.ifNoneMatch] == etag { return Response(status: .notModified, headers: headers) }
        if asset.contentType.hasPrefix("text/html") {
            // The pages load only their own scripts and styles, and talk only to this node.
            headers[.init("Content-Security-Policy")!] =
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
            headers[.init("Referrer-Policy")!] = "no-referrer"
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.body)))
    }
}

/// A file the node serves as it is (dashboard pages, the OpenAPI document).
public struct StaticAsset: Sendable {
    public var contentType: String
    public var body: [UInt8]
    public var etag: String

    public init(contentType: String, body: [UInt8], etag: String) {
        self.contentType = contentType
        self.body = body
        self.etag = etag
    }
}

import BatonModel
import Testing

@Suite struct EndpointTests {
    @Test(arguments: [
        ("https://user:secret@api.example:8443/hook?token=abc#frag", "https://api.example:8443/hook?…"),
        ("http://127.0.0.1:8080/run?token=abc", "http://127.0.0.1:8080/run?…"),
        ("http://svc.internal/run", "http://svc.internal/run"),
        ("https://key@svc/a/b", "https://svc/a/b"),
        ("http://svc?x=1", "http://svc?…"),
        ("http://svc/path/with@sign", "http://svc/path/with@sign"),
        ("billing:50051", "billing:50051"),
        ("", ""),
    ])
    func redactsCredentialsAndQuery(endpoint: String, shown: String) {
        #expect(Endpoint.redacted(endpoint) == shown)
    }
}

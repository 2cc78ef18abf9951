/// One span of an OTLP export request: the fields the tracing tests read,
/// ids as lowercase hex (as a `traceparent` writes them).
struct OTLPSpan: Sendable, CustomStringConvertible {
    var traceID = ""
    var spanID = ""
    var parentSpanID = ""
    var name = ""
    var attributes: [String: String] = [:]

    /// The `traceparent` naming this span (sampled).
    var traceparent: String { "00-\(self.traceID)-\(self.spanID)-01" }

    var description: String { "\(self.name) trace=\(self.traceID) span=\(self.spanID) parent=\(self.parentSpanID) \(self.attributes)" }

    /// The spans of an `ExportTraceServiceRequest` (OTLP/HTTP, protobuf):
    /// resource_spans(1) → scope_spans(2) → spans(2), decoded by hand with
    /// `ProtobufFields` (swift-otel keeps its generated types internal).
    static func decode(_ request: [UInt8]) -> [OTLPSpan] {
        var spans: [OTLPSpan] = []
        for resource in ProtobufFields(request).messages(1) {
            for scope in ProtobufFields(resource).messages(2) {
                for bytes in ProtobufFields(scope).messages(2) { spans.append(Self.span(bytes)) }
            }
        }
        return spans
    }

    private static func span(_ bytes: [UInt8]) -> OTLPSpan {
        var span = OTLPSpan()
        for field in ProtobufFields(bytes).all {
            switch (field.number, field.value) {
            case (1, .bytes(let id)): span.traceID = Self.hex(id)
            case (2, .bytes(let id)): span.spanID = Self.hex(id)
            case (4, .bytes(let id)): span.parentSpanID = Self.hex(id)
            case (5, .bytes(let name)): span.name = String(decoding: name, as: UTF8.self)
            case (9, .bytes(let keyValue)):
                // KeyValue { key = 1; AnyValue value = 2 { string = 1; int = 3 } }
                let pair = ProtobufFields(keyValue)
                let key = pair.messages(1).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
                for value in ProtobufFields(pair.messages(2).first ?? []).all {
                    switch (value.number, value.value) {
                    case (1, .bytes(let text)): span.attributes[key] = String(decoding: text, as: UTF8.self)
                    case (3, .varint(let number)): span.attributes[key] = String(Int64(bitPattern: number))
                    default: break
                    }
                }
            default: break
            }
        }
        return span
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

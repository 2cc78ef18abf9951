import BatonModel
import Testing

/// The payload column's one document: a string map as before, args tagged so
/// that no string map (old rows included) ever reads as args.
@Suite struct StoredPayloadTests {
    @Test func aMapIsStoredAsItAlwaysWas() {
        let text = StoredPayload.encode(payload: ["b": "2", "a": "1"], args: nil)
        #expect(text == #"{"a":"1","b":"2"}"#)
        #expect(StoredPayload.decode(text).payload == ["a": "1", "b": "2"])
        #expect(StoredPayload.decode(text).args == nil)
    }

    @Test func argsComeBackAsTheirText() {
        let args = #"{"amount":42,"items":[1,2],"n":{"x":null}}"#
        let text = StoredPayload.encode(payload: [:], args: args)
        #expect(text == #"{"args":"# + args + "}")
        #expect(StoredPayload.decode(text).args == args)
        #expect(StoredPayload.decode(text).payload.isEmpty)
        #expect(StoredPayload.decode(StoredPayload.encode(payload: [:], args: "{}")).args == "{}")
    }

    @Test(arguments: [["args": "{not an object}"], ["args": "x", "b": "y"], ["a": "1", "args": "{}"]])
    func aMapWithAnArgsKeyStaysAMap(map: [String: String]) {
        let decoded = StoredPayload.decode(StoredPayload.encode(payload: map, args: nil))
        #expect(decoded.args == nil)
        #expect(decoded.payload == map)
    }

    @Test func oldRowsAndOddTextReadAsMaps() {
        #expect(StoredPayload.decode("{}").payload.isEmpty)
        #expect(StoredPayload.decode("{}").args == nil)
        #expect(StoredPayload.decode(#"{"args":{"#).args == nil, "a cut document is not args")
    }
}

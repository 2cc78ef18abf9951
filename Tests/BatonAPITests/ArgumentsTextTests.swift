import BatonClient
import BatonProto
import Foundation
import SwiftProtobuf
import Testing

/// `baton-client --args`: inline JSON, @file, refusals before any call.
@Suite struct ArgumentsTextTests {
    @Test func inlineJSONBecomesTheStruct() throws {
        let args = try ArgumentsText.parse(#"{"amount":42,"items":[1,2],"to":"ops","ok":true}"#)
        #expect(args.fields["amount"]?.numberValue == 42)
        #expect(args.fields["items"]?.listValue.values.map(\.numberValue) == [1, 2])
        #expect(args.fields["to"]?.stringValue == "ops")
        #expect(args.fields["ok"]?.boolValue == true)
    }

    @Test func atNamesAFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("args-\(UUID().uuidString).json")
        try Data(#"{"amount": 7}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let args = try ArgumentsText.parse("@" + file.path)
        #expect(args.fields["amount"]?.numberValue == 7)
        // Reading goes through the reader it is given (stdin is "-").
        let fromStdin = try ArgumentsText.parse("@-") { path in
            #expect(path == "-")
            return Data(#"{"b":"x"}"#.utf8)
        }
        #expect(fromStdin.fields["b"]?.stringValue == "x")
        #expect(throws: (any Error).self) { try ArgumentsText.parse("@/no/such/file.json") }
    }

    @Test(arguments: ["[1,2]", "42", "\"text\"", "{not json", "", "null"])
    func anythingButAnObjectIsRefused(text: String) {
        #expect(throws: ArgumentsText.Invalid.self) { try ArgumentsText.parse(text) }
    }

    @Test func detailShowsArgsOnOneLine() throws {
        let args = try ArgumentsText.parse(#"{"amount":42,"big":9007199254740993,"half":0.5,"s":"a\"b"}"#)
        // Integers print as integers (SwiftProtobuf alone writes 42.0); past 2^53 the double's own form.
        let text = ArgumentsText.text(args)
        #expect(text.hasPrefix(#"{"amount":42,"big":"#) && text.hasSuffix(#","half":0.5,"s":"a\"b"}"#), "\(text)")
        #expect(!text.contains("9007199254740993"), "past 2^53 a double cannot hold it exactly: \(text)")
    }
}

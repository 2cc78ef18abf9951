import BatonTestSupport
import Foundation
import XCTest

/// HS256 tokens minted as docs/security.md (JWTs) mints one: a few lines of
/// Python, so the node is checked against a signer that is not its own code.
enum HS256Token {
    /// A token signed with the secret in `secretFile`; `output` is a scratch file.
    static func mint(secretFile: String, claims: [String: Any], output: String) throws -> String {
        let claimsJSON = String(decoding: try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]), as: UTF8.self)
        let script = """
            import base64, hashlib, hmac, json, sys
            b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
            secret = open(sys.argv[1], "rb").read().rstrip(b"\\r\\n")
            header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
            claims = b64(sys.argv[2].encode())
            print(f"{header}.{claims}." + b64(hmac.new(secret, f"{header}.{claims}".encode(), hashlib.sha256).digest()))
            """
        let status = try ChildProcess.run("/usr/bin/env", ["python3", "-c", script, secretFile, claimsJSON], environment: ProcessInfo.processInfo.environment, output: output)
        XCTAssertEqual(status, 0)
        return try String(contentsOfFile: output, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

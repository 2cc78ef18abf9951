import ArgumentParser
import BatonClient
import BatonProto
import Foundation
import GRPCCore
import SwiftProtobuf

@main
struct BatonClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baton-client",
        abstract: "Drives a Baton cluster: tasks, dead letters, task types, schedules, a live view.",
        subcommands: [
            SelfTest.self, Create.self, Batch.self, Get.self, List.self, Cancel.self, Retry.self, BulkRetry.self, BulkCancel.self,
            Logs.self, Watch.self, Wait.self, Stats.self, Top.self, Pause.self, Resume.self, Config.self, Schedule.self,
        ],
        defaultSubcommand: SelfTest.self
    )
}

struct ServerOptions: ParsableArguments {
    @Option(help: "Nodes, host:port, comma-separated: tried in turn until one answers (default: $BATON_SERVER, else localhost:9091).")
    var server: String?

    @Flag(help: "Print one JSON document.")
    var json = false

    @Flag(help: "Print one JSON object per line (lists: one per item).")
    var jsonl = false

    // No default shown: the help text must never print a key.
    @Option(help: "API key (default: $BATON_API_KEY).")
    var apiKey: String?

    @Flag(help: "Connect with TLS.")
    var tls = false

    @Option(help: "CA certificate (PEM) to trust instead of the system's; implies --tls.")
    var caCert: String?

    @Option(help: "Client certificate (PEM) for mutual TLS; implies --tls.")
    var clientCert: String?

    @Option(help: "Client private key (PEM) for mutual TLS.")
    var clientKey: String?

    var clientTLS: ClientTLS? {
        guard self.tls || self.caCert != nil || self.clientCert != nil else { return nil }
        return ClientTLS(caCertificatePath: self.caCert, certificatePath: self.clientCert, keyPath: self.clientKey)
    }

    /// The nodes to try, in order.
    func servers() throws -> [(host: String, port: Int)] {
        let list = self.server ?? ProcessInfo.processInfo.environment["BATON_SERVER"].flatMap { $0.isEmpty ? nil : $0 } ?? "localhost:9091"
        return try list.split(separator: ",").map { entry in
            let parts = entry.trimmingCharacters(in: .whitespaces).split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port) else {
                throw ValidationError("--server takes host:port, comma-separated (got \(entry))")
            }
            return (String(parts[0]), port)
        }
    }

    /// Runs `body` against the first node that answers: a node that is down
    /// (UNAVAILABLE) makes it try the next; any other answer is final.
    func connect<T: Sendable>(_ body: @Sendable (BatonClient) async throws -> T) async throws -> T {
        let key = self.apiKey ?? ProcessInfo.processInfo.environment["BATON_API_KEY"]
        var last: RPCError?
        for (host, port) in try self.servers() {
            do {
                return try await withBatonClient(host: host, port: port, apiKey: key, tls: self.clientTLS, body)
            } catch let error as RPCError where error.code == .unavailable {
                last = error
            } catch let error as RPCError {
                throw CLIError("\(error.code): \(error.message)")
            }
        }
        throw CLIError("\(last.map { "\($0.code): \($0.message)" } ?? "unavailable") (tried \(try self.servers().map { "\($0.host):\($0.port)" }.joined(separator: ", ")))")
    }

    /// Colour only on a terminal, never in JSON.
    var colour: Bool { isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil }

    var machine: Bool { self.json || self.jsonl }

    func print(_ message: some SwiftProtobuf.Message, text: @autoclosure () -> String) {
        if self.machine, let data = try? message.jsonUTF8Data() {
            Swift.print(String(decoding: data, as: UTF8.self))
        } else {
            Swift.print(text())
        }
    }

    /// A list: a table, a JSON array (--json) or one object per line (--jsonl).
    func print<M: SwiftProtobuf.Message>(list: [M], table: @autoclosure () -> TextTable) {
        if self.jsonl {
            for item in list { if let data = try? item.jsonUTF8Data() { Swift.print(String(decoding: data, as: UTF8.self)) } }
        } else if self.json {
            Swift.print("[" + list.compactMap { try? $0.jsonUTF8Data() }.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ",") + "]")
        } else {
            Swift.print(table().render(colour: self.colour))
        }
    }

    /// A line of progress on stderr (a terminal only), redrawn in place.
    func progress(_ line: String, done: Bool = false) {
        guard isatty(STDERR_FILENO) == 1, !self.machine else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)\(done ? "\n" : "")".utf8))
    }
}

/// An error printed as one line, with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Asks on the terminal; false unless the answer is yes. Without a terminal
/// nothing is asked and the answer is no (pass --yes in scripts).
func confirm(_ question: String) -> Bool {
    guard isatty(STDIN_FILENO) == 1 else { return false }
    FileHandle.standardError.write(Data("\(question) [y/N] ".utf8))
    let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
    return answer == "y" || answer == "yes"
}

func parsePairs(_ pairs: [String], what: String = "payload") throws -> [String: String] {
    var payload: [String: String] = [:]
    for pair in pairs {
        guard let equals = pair.firstIndex(of: "=") else { throw ValidationError("\(what) entries look like key=value") }
        payload[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
    }
    return payload
}

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
        abstract: "Exercises and drives a Baton cluster.",
        subcommands: [
            SelfTest.self, Create.self, Batch.self, Get.self, List.self, Cancel.self, Logs.self, Watch.self, Wait.self,
            Stats.self, Config.self,
        ],
        defaultSubcommand: SelfTest.self
    )
}

struct ServerOptions: ParsableArguments {
    @Option(help: "Node to talk to, host:port.")
    var server = "localhost:9091"

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(help: "API key (default: $BATON_API_KEY).")
    var apiKey = ProcessInfo.processInfo.environment["BATON_API_KEY"]

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

    func connect<T: Sendable>(_ body: @Sendable (BatonClient) async throws -> T) async throws -> T {
        let parts = self.server.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--server must be host:port") }
        do {
            return try await withBatonClient(host: String(parts[0]), port: port, apiKey: self.apiKey, tls: self.clientTLS, body)
        } catch let error as RPCError {
            throw CLIError("\(error.code): \(error.message)")
        }
    }

    func print(_ message: some SwiftProtobuf.Message, text: String) {
        if self.json, let data = try? message.jsonUTF8Data() {
            Swift.print(String(decoding: data, as: UTF8.self))
        } else {
            Swift.print(text)
        }
    }
}

/// An error printed as one line, with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func describe(_ task: Baton_V1_Task) -> String {
    var parts = ["\(task.taskID)  \(task.taskType)  \(task.status)  attempt \(task.attempt)/\(task.maxRetries + 1)"]
    if !task.workerID.isEmpty { parts.append("worker \(task.workerID)") }
    if !task.result.isEmpty { parts.append("result \(task.result)") }
    if !task.error.isEmpty { parts.append("error \(task.error)") }
    return parts.joined(separator: "  ")
}

func parsePayload(_ pairs: [String]) throws -> [String: String] {
    var payload: [String: String] = [:]
    for pair in pairs {
        guard let equals = pair.firstIndex(of: "=") else { throw ValidationError("payload entries look like key=value") }
        payload[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
    }
    return payload
}

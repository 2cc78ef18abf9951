import BatonModel
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The node's HTTP port on Hummingbird: whatever routes it is given (REST,
/// dashboard, `/health`, `/metrics`), behind the connection cap and the
/// per-phase timeouts of `HTTPLimits`.
public struct HTTPServer: Service {
    private let application: Application<RouterResponder<BasicRequestContext>>
    private let boundPort: PortBox

    public init(host: String, port: Int, router: Router<BasicRequestContext>, limits: HTTPLimits = HTTPLimits(), logger: Logger) {
        let connections = Slots(limit: limits.maxConnections)
        let boundPort = PortBox()
        self.boundPort = boundPort
        self.application = Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [ConnectionSlotHandler(slots: connections), HTTP10Close.Installer(), HTTPTimeoutHandler(limits: limits)]
                )
            ),
            configuration: .init(address: .hostname(host, port: port), serverName: nil, backlog: 256, reuseAddress: true),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                boundPort.set(bound)
                logger.info("HTTP endpoints listening", metadata: ["port": "\(bound)"])
            },
            logger: logger
        )
    }

    public func run() async throws {
        try await self.application.run()
    }

    /// The bound port once listening (polls briefly; for tests with port 0).
    public func listeningPort() async throws -> Int {
        for _ in 0..<500 {
            if let port = self.boundPort.port { return port }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ChannelError.inappropriateOperationForState
    }
}

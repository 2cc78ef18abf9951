import GRPCNIOTransportHTTP2

/// TLS for a client: the CA to trust (else the system's), and for mutual TLS
/// the client's certificate and key (PEM files).
public struct ClientTLS: Sendable {
    public var caCertificatePath: String?
    public var certificatePath: String?
    public var keyPath: String?

    public init(caCertificatePath: String? = nil, certificatePath: String? = nil, keyPath: String? = nil) {
        self.caCertificatePath = caCertificatePath
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }

    var transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity {
        let trust = self.caCertificatePath
        if let certificate = self.certificatePath, let key = self.keyPath {
            return .mTLS(certificateChain: [.file(path: certificate, format: .pem)], privateKey: .file(path: key, format: .pem)) { config in
                if let trust { config.trustRoots = .certificates([.file(path: trust, format: .pem)]) }
            }
        }
        return .tls { config in
            if let trust { config.trustRoots = .certificates([.file(path: trust, format: .pem)]) }
        }
    }
}

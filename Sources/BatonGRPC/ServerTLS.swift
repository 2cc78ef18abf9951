import GRPCNIOTransportHTTP2

/// TLS for the gRPC server from PEM files: the certificate and key it
/// offers, and with a CA, mutual TLS (only clients with a certificate signed
/// by that CA connect).
public struct ServerTLS: Sendable {
    public var certificatePath: String
    public var keyPath: String
    public var clientCAPath: String?

    public init(certificatePath: String, keyPath: String, clientCAPath: String? = nil) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.clientCAPath = clientCAPath
    }

    var transportSecurity: HTTP2ServerTransport.Posix.TransportSecurity {
        let chain: [TLSConfig.CertificateSource] = [.file(path: self.certificatePath, format: .pem)]
        let key = TLSConfig.PrivateKeySource.file(path: self.keyPath, format: .pem)
        guard let ca = self.clientCAPath else { return .tls(certificateChain: chain, privateKey: key) }
        return .mTLS(certificateChain: chain, privateKey: key) { config in
            config.trustRoots = .certificates([.file(path: ca, format: .pem)])
            config.clientCertificateVerification = .noHostnameVerification
        }
    }
}

import COpenSSL

#if canImport(Glibc)
import Glibc
#endif

/// A TLS session over a connected, blocking socket, through the system's
/// OpenSSL: what `rediss://` puts between hiredis's RESP code and the
/// network, since hiredis 0.14 has no TLS and no pluggable I/O.
///
/// Blocking like the rest of a `RedisConnection`, on the same pool thread:
/// the socket's SO_RCVTIMEO / SO_SNDTIMEO (hiredis's `redisSetTimeout`)
/// bound every read and write, the handshake's included. Not thread-safe;
/// one caller at a time, as for the hiredis context it belongs to.
final class TLSStream {
    private let ssl: OpaquePointer
    private let buffer: UnsafeMutableRawBufferPointer
    private var failed = false

    /// Handshakes over `socket` (connected to `host`) and verifies the
    /// server's certificate: its chain against `tls`'s CA (or the system's
    /// roots) and its name or IP address against `tls.serverName ?? host`.
    init(socket: Int32, host: String, tls: RedisTLS) throws(RedisError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw Self.failure("cannot create a TLS context") }
        // The session keeps its own reference to the context.
        defer { SSL_CTX_free(context) }
        _ = baton_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        if let ca = tls.caFile {
            guard SSL_CTX_load_verify_locations(context, ca, nil) == 1 else { throw Self.failure("cannot read the CA file \(ca)") }
        } else if SSL_CTX_set_default_verify_paths(context) != 1 {
            throw Self.failure("cannot load the system's CA certificates")
        }
        if let certificate = tls.certificateFile, let key = tls.keyFile {
            guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
                throw Self.failure("cannot read the client certificate \(certificate)")
            }
            guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1, SSL_CTX_check_private_key(context) == 1 else {
                throw Self.failure("cannot use the private key \(key) with \(certificate)")
            }
        }
        guard let ssl = SSL_new(context) else { throw Self.failure("cannot create a TLS session") }
        let name = tls.serverName ?? host
        let named: Bool
        if Self.isIPAddress(name) {
            // An IP address is checked against the certificate's IP SANs, and never sent as SNI.
            named = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1
        } else {
            named = baton_SSL_set_tlsext_host_name(ssl, name) == 1 && SSL_set1_host(ssl, name) == 1
        }
        guard named, SSL_set_fd(ssl, socket) == 1 else {
            SSL_free(ssl)
            throw Self.failure("cannot set up the TLS session for \(name)")
        }
        let connected = SSL_connect(ssl)
        guard connected == 1 else {
            let verify = SSL_get_verify_result(ssl)
            let error =
                verify == X509_V_OK
                ? Self.ioError(ssl, connected, doing: "handshake")
                : RedisError(
                    .connectionFailed,
                    "TLS handshake: the server's certificate is refused: \(String(cString: X509_verify_cert_error_string(verify)))"
                        + " (checked against \(tls.caFile.map { "ca=\($0)" } ?? "the system's CAs") for the name \(name))"
                )
            SSL_free(ssl)
            throw error
        }
        self.ssl = ssl
        self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 1)
    }

    /// Writes all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws(RedisError) {
        var offset = 0
        while offset < bytes.count {
            ERR_clear_error()
            let written = SSL_write(self.ssl, bytes.baseAddress! + offset, Int32(clamping: bytes.count - offset))
            guard written > 0 else { throw self.broken(written, doing: "write") }
            offset += Int(written)
        }
    }

    /// Reads what arrived (at least one byte); the bytes stay valid until the next read.
    func read() throws(RedisError) -> UnsafeRawBufferPointer {
        ERR_clear_error()
        let count = SSL_read(self.ssl, self.buffer.baseAddress, Int32(self.buffer.count))
        guard count > 0 else { throw self.broken(count, doing: "read") }
        return UnsafeRawBufferPointer(rebasing: self.buffer[..<Int(count)])
    }

    /// Sends close_notify unless the session broke, and frees it; the
    /// socket stays open (hiredis closes it).
    func close() {
        if !self.failed { SSL_shutdown(self.ssl) }
        SSL_free(self.ssl)
        self.buffer.deallocate()
    }

    /// A session is unusable after a failed read or write.
    private func broken(_ result: Int32, doing what: String) -> RedisError {
        self.failed = true
        return Self.ioError(self.ssl, result, doing: what)
    }

    /// A failed read, write or handshake: `.timeout` when the socket's
    /// timeout ran out, `.connectionLost` otherwise, with OpenSSL's reason.
    private static func ioError(_ ssl: OpaquePointer, _ result: Int32, doing what: String) -> RedisError {
        let number = errno
        let code = SSL_get_error(ssl, result)
        switch code {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            // A blocking socket only "wants" more when SO_RCVTIMEO/SO_SNDTIMEO ran out.
            return RedisError(.timeout, "TLS \(what) timed out")
        case SSL_ERROR_ZERO_RETURN:
            return RedisError(.connectionLost, "the server closed the TLS connection")
        case SSL_ERROR_SYSCALL where number == EAGAIN || number == EWOULDBLOCK:
            return RedisError(.timeout, "TLS \(what) timed out")
        case SSL_ERROR_SYSCALL where ERR_peek_error() == 0:
            return RedisError(.connectionLost, number == 0 ? "connection closed during TLS \(what)" : "TLS \(what): \(String(cString: strerror(number)))")
        default:
            return Self.failure("TLS \(what)")
        }
    }

    /// `what` with OpenSSL's reasons from this thread's error queue (which it empties).
    private static func failure(_ what: String) -> RedisError {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            reasons.append(ERR_reason_error_string(code).map { String(cString: $0) } ?? "error \(code)")
        }
        return RedisError(.connectionLost, reasons.isEmpty ? what : "\(what): \(reasons.joined(separator: "; "))")
    }

    private static func isIPAddress(_ name: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET, name, &address) == 1 || inet_pton(AF_INET6, name, &address) == 1
    }
}

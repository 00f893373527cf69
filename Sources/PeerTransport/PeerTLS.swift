import Foundation
import NIOSSL

/// The TLS material of one node: the cluster CA it trusts and its own certificate and key, in PEM.
public struct PeerTLSMaterial: Sendable {
    public var caCertificatePEM: String
    public var certificatePEM: String
    public var privateKeyPEM: String

    public init(caCertificatePEM: String, certificatePEM: String, privateKeyPEM: String) {
        self.caCertificatePEM = caCertificatePEM
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }

    /// Reads the three PEM files; throws naming the file that cannot be read.
    public init(caPath: String, certificatePath: String, privateKeyPath: String) throws(ClusterCertificateError) {
        func read(_ path: String, _ what: String) throws(ClusterCertificateError) -> String {
            guard let data = FileManagerShim.contents(path) else {
                throw ClusterCertificateError(description: "cannot read the \(what) at \(path)")
            }
            return data
        }
        self.init(
            caCertificatePEM: try read(caPath, "cluster CA certificate"),
            certificatePEM: try read(certificatePath, "node certificate"),
            privateKeyPEM: try read(privateKeyPath, "node private key"))
    }

    /// TLS 1.3 both ways, each side presenting its node certificate and accepting only peers whose
    /// certificate chains to the cluster CA. Host names are not checked: identity is the node id in the
    /// certificate, checked against the hello.
    func configurations() throws -> (server: NIOSSLContext, client: NIOSSLContext) {
        let ca = try NIOSSLCertificate.fromPEMBytes(Array(caCertificatePEM.utf8))
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map {
            NIOSSLCertificateSource.certificate($0)
        }
        let key = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
        var server = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        server.trustRoots = .certificates(ca)
        server.certificateVerification = .noHostnameVerification
        server.minimumTLSVersion = .tlsv13
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = chain
        client.privateKey = .privateKey(key)
        client.trustRoots = .certificates(ca)
        client.certificateVerification = .noHostnameVerification
        client.minimumTLSVersion = .tlsv13
        return (try NIOSSLContext(configuration: server), try NIOSSLContext(configuration: client))
    }
}

enum FileManagerShim {
    static func contents(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

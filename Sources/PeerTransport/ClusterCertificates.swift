import Crypto
import Foundation
import SwiftASN1
import X509

/// A cluster's certificate authority: it signs one certificate per node, and every node accepts a peer
/// only if the peer's certificate chains to it. A node's identity is the DNS name `ferry-node-<id>` in
/// its certificate's subject alternative names, so a node cannot speak for another.
public struct ClusterCertificateAuthority: Sendable {
    /// Validity of the authority, in days: 10 years.
    public static let authorityValidityDays = 3_650
    /// Validity of a node certificate, in days: 2 years.
    public static let nodeValidityDays = 730

    public let certificate: Certificate
    let privateKey: P256.Signing.PrivateKey

    /// A new authority with a fresh P-256 key.
    public init(clusterName: String, now: Date = Date()) throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("Ferry")
            CommonName("Ferry cluster CA \(clusterName)")
        }
        let publicKey = Certificate.PublicKey(key.publicKey)
        self.certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-3_600),
            notValidAfter: now.addingTimeInterval(Double(Self.authorityValidityDays) * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        self.privateKey = key
    }

    /// An authority read back from its PEM files.
    public init(certificatePEM: String, privateKeyPEM: String) throws {
        self.certificate = try Certificate(pemEncoded: certificatePEM)
        self.privateKey = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        guard certificate.publicKey == Certificate.PublicKey(privateKey.publicKey) else {
            throw ClusterCertificateError(description: "the CA key does not match the CA certificate")
        }
    }

    public var certificatePEM: String { get throws { try certificate.serializeAsPEM().pemString } }
    public var privateKeyPEM: String { privateKey.pemRepresentation }

    /// A certificate for node `nodeID`, valid as TLS server and client, naming `ferry-node-<id>` and the
    /// given host names and IP addresses. Returns the certificate and its new private key, in PEM.
    public func issueNodeCertificate(nodeID: UInt64, hosts: [String], now: Date = Date()) throws -> (
        certificatePEM: String, privateKeyPEM: String
    ) {
        let key = P256.Signing.PrivateKey()
        var names: [GeneralName] = [.dnsName(ClusterIdentity.dnsName(nodeID))]
        for host in hosts {
            if let address = ClusterIdentity.ipAddressBytes(host) {
                names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(address))))
            } else {
                names.append(.dnsName(host))
            }
        }
        let subject = try DistinguishedName {
            OrganizationName("Ferry")
            CommonName(ClusterIdentity.dnsName(nodeID))
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3_600),
            notValidAfter: now.addingTimeInterval(Double(Self.nodeValidityDays) * 86_400),
            issuer: self.certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyAgreement: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: Certificate.PrivateKey(privateKey))
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }
}

/// A certificate problem an operator can act on.
public struct ClusterCertificateError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// How a node's id is written in, and read from, its certificate.
public enum ClusterIdentity {
    /// The DNS name that identifies node `nodeID`: `ferry-node-<id>`.
    public static func dnsName(_ nodeID: UInt64) -> String { "ferry-node-\(nodeID)" }

    /// The node ids a certificate (DER) names in its subject alternative names.
    public static func nodeIDs(certificateDER: [UInt8]) throws -> [UInt64] {
        let certificate = try Certificate(derEncoded: certificateDER)
        guard let names = try certificate.extensions.subjectAlternativeNames else { return [] }
        return names.compactMap { name in
            guard case .dnsName(let text) = name, text.hasPrefix("ferry-node-") else { return nil }
            return UInt64(text.dropFirst("ferry-node-".count))
        }
    }

    /// The 4 or 16 bytes of an IPv4 or IPv6 address, or nil for a host name.
    static func ipAddressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

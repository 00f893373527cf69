import ArgumentParser
import Foundation
import PeerTransport

/// `ferry certs`: a cluster CA and one certificate per node, so operators need no openssl recipe.
struct Certs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a cluster CA (or reuse the one in --dir) and a certificate and key for each node.",
        discussion: """
            Writes ca.pem and ca-key.pem (keep the key offline once the nodes have their certificates), \
            cluster.key (every node needs it: receipt handles are signed with it), and node-N.pem and \
            node-N-key.pem for N in 1...--nodes. A node's certificate names it as ferry-node-N; \
            peers accept a link only from a certificate signed by this CA that names the node it claims to be.
            """)

    @Option(help: "Directory to write into (created if missing).")
    var dir: String

    @Option(help: "Number of nodes to issue certificates for (1–1024); existing ones are kept unless --force.")
    var nodes = 3

    @Option(
        help: "Host name or IP address to put in every node certificate (repeatable; default 127.0.0.1, localhost).")
    var host: [String] = []

    @Option(help: "Cluster name, written into the CA's name.")
    var clusterName = "ferry"

    @Flag(help: "Reissue node certificates that already exist.")
    var force = false

    func validate() throws {
        guard (1...1_024).contains(nodes) else { throw ValidationError("--nodes must be 1–1024") }
    }

    func run() throws {
        let written = try CertificateFiles.write(
            directory: dir, nodeIDs: Array(1...UInt64(nodes)), hosts: host.isEmpty ? ["127.0.0.1", "localhost"] : host,
            clusterName: clusterName, force: force)
        for path in written { print("wrote \(path)") }
    }
}

/// The certificate files of a cluster directory.
enum CertificateFiles {
    static func caPath(_ directory: String) -> String { (directory as NSString).appendingPathComponent("ca.pem") }
    static func caKeyPath(_ directory: String) -> String {
        (directory as NSString).appendingPathComponent("ca-key.pem")
    }
    static func nodePath(_ directory: String, _ id: UInt64) -> String {
        (directory as NSString).appendingPathComponent("node-\(id).pem")
    }
    static func nodeKeyPath(_ directory: String, _ id: UInt64) -> String {
        (directory as NSString).appendingPathComponent("node-\(id)-key.pem")
    }

    /// Writes the CA (unless present) and the node certificates; returns the paths written.
    static func write(directory: String, nodeIDs: [UInt64], hosts: [String], clusterName: String, force: Bool) throws
        -> [String]
    {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var written: [String] = []
        let authority: ClusterCertificateAuthority
        if let certificate = manager.contents(atPath: caPath(directory)),
            let key = manager.contents(atPath: caKeyPath(directory))
        {
            authority = try ClusterCertificateAuthority(
                certificatePEM: String(decoding: certificate, as: UTF8.self),
                privateKeyPEM: String(decoding: key, as: UTF8.self))
        } else {
            authority = try ClusterCertificateAuthority(clusterName: clusterName)
            try save(try authority.certificatePEM, to: caPath(directory), secret: false)
            try save(authority.privateKeyPEM, to: caKeyPath(directory), secret: true)
            written += [caPath(directory), caKeyPath(directory)]
        }
        let keyPath = (directory as NSString).appendingPathComponent("cluster.key")
        if !manager.fileExists(atPath: keyPath) {
            try ClusterKeyFile.write(keyPath)
            written.append(keyPath)
        }
        for id in nodeIDs where force || !manager.fileExists(atPath: nodePath(directory, id)) {
            let issued = try authority.issueNodeCertificate(nodeID: id, hosts: hosts)
            try save(issued.certificatePEM, to: nodePath(directory, id), secret: false)
            try save(issued.privateKeyPEM, to: nodeKeyPath(directory, id), secret: true)
            written += [nodePath(directory, id), nodeKeyPath(directory, id)]
        }
        return written
    }

    private static func save(_ text: String, to path: String, secret: Bool) throws {
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: secret ? 0o600 : 0o644])
        else { throw ValidationError("cannot write \(path)") }
    }
}

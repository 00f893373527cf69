import ArgumentParser
import Foundation
import Hummingbird
import Logging
import SQSFrontend

/// `ferry serve`: run one node.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the SQS API on one node.")

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free port).")
    var port = 9324

    @Option(
        help:
            "Directory for the node's data (created if missing). State is kept in memory for now; the directory holds the receipt-handle key."
    )
    var dataDir: String?

    @Option(
        name: .customLong("credentials"),
        help: "Accepted credentials as KEY:SECRET (repeatable). Without any, signatures are not checked.")
    var credentials: [String] = []

    @Option(help: "PEM certificate chain: serve HTTPS (needs --tls-key).")
    var tlsCert: String?

    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(help: "Account id in queue URLs and ARNs.")
    var accountId = "000000000000"

    @Option(help: "Region in queue ARNs.")
    var region = "us-east-1"

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0–65535") }
        for credential in credentials {
            let parts = credential.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("--credentials takes KEY:SECRET, got '\(credential)'")
            }
        }
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard accountId.count == 12, accountId.allSatisfy(\.isNumber) else {
            throw ValidationError("--account-id must be 12 digits")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() async throws {
        var logger = Logger(label: "ferry")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var configuration = SQSServerConfiguration(receiptHandleKey: try ReceiptKey.load(dataDirectory: dataDir))
        configuration.host = host
        configuration.port = port
        configuration.accountId = accountId
        configuration.region = region
        configuration.tlsCertificatePath = tlsCert
        configuration.tlsKeyPath = tlsKey
        for credential in credentials {
            let parts = credential.split(separator: ":", maxSplits: 1)
            configuration.credentials[String(parts[0])] = String(parts[1])
        }
        if credentials.isEmpty {
            logger.warning("no --credentials given: request signatures are NOT checked; any client is accepted")
        }
        let app = try SQSServer.makeApplication(configuration, logger: logger) { url in
            FileHandle.standardOutput.write(Data("ferry listening on \(url)\n".utf8))
        }
        try await app.runService()
        logger.info("ferry stopped")
    }
}

/// The receipt-handle key: kept in the data directory so handles survive a restart, else per process.
enum ReceiptKey {
    static let fileName = "receipt-handle.key"
    static let bytes = 32

    static func load(dataDirectory: String?) throws -> [UInt8] {
        guard let dataDirectory else { return random() }
        let manager = FileManager.default
        try manager.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let path = (dataDirectory as NSString).appendingPathComponent(fileName)
        if let existing = manager.contents(atPath: path) {
            guard existing.count == bytes else {
                throw ValidationError(
                    "\(path) holds \(existing.count) bytes, expected \(bytes); remove it to make a new key")
            }
            return [UInt8](existing)
        }
        let key = random()
        guard manager.createFile(atPath: path, contents: Data(key), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(path)")
        }
        return key
    }

    private static func random() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}

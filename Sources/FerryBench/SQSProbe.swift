import NIOPosix
import SigV4

/// One signed ListQueues call: whether an endpoint serves (every shard has a leader, since ListQueues
/// asks them all).
public enum SQSProbe {
    /// True when `endpoint` answers ListQueues with success.
    public static func serves(endpoint: String, accessKeyId: String, secret: String, region: String) async -> Bool {
        guard let parsed = Endpoint(parsing: endpoint), !parsed.isTLS else { return false }
        do {
            return try await SQSConnection.withConnection(
                to: parsed, tls: nil, group: MultiThreadedEventLoopGroup.singleton
            ) { connection in
                let client = SQSBenchClient(
                    connection: connection,
                    signer: SigV4Signer(accessKeyId: accessKeyId, secret: secret, region: region))
                _ = try await client.call("ListQueues", Array("{}".utf8))
                return true
            }
        } catch {
            return false
        }
    }
}

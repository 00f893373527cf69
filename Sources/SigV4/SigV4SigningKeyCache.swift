import Crypto
import Synchronization

/// Derived signing keys by (access key id, scope date, region), so a busy client costs one HMAC
/// per request instead of five. A key changes only when the date or region does, so a handful of
/// entries serve all traffic. Keys are stored only after a signature verified with them, so
/// requests with made-up scopes cannot churn the cache; past `signingKeyCacheEntriesMax` entries
/// it is emptied. Shared by copies of one verifier, whose credentials never change.
final class SigV4SigningKeyCache: Sendable {
    struct Key: Hashable, Sendable {
        var accessKeyId: String
        var date: String
        var region: String
    }

    private let entries = Mutex<[Key: SymmetricKey]>([:])

    func signingKey(for key: Key) -> SymmetricKey? {
        entries.withLock { $0[key] }
    }

    func store(_ signingKey: SymmetricKey, for key: Key) {
        entries.withLock { entries in
            if entries[key] == nil, entries.count >= SigV4Limits.signingKeyCacheEntriesMax {
                entries.removeAll(keepingCapacity: true)
            }
            entries[key] = signingKey
        }
    }

    var count: Int { entries.withLock { $0.count } }
}

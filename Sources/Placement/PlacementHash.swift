/// Stable 64-bit hashing for placement. Every node of every version must compute the same values, so this
/// never uses Swift's per-process seeded `Hasher`.
enum PlacementHash {
    /// FNV-1a over the UTF-8 bytes of `text`, finished with `mix` so that nearby names spread out.
    static func hash<Text: StringProtocol>(_ text: Text) -> UInt64 {
        var value: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01B3
        }
        return mix(value)
    }

    /// MurmurHash3's 64-bit finalizer: a bijection in which every input bit affects every output bit.
    static func mix(_ input: UInt64) -> UInt64 {
        var value = input
        value ^= value >> 33
        value &*= 0xFF51_AFD7_ED55_8CCD
        value ^= value >> 33
        value &*= 0xC4CE_B9FE_1A85_EC53
        value ^= value >> 33
        return value
    }

    /// Jump consistent hash (Lamping and Veach, 2014): a bucket in `0..<bucketCount` such that growing
    /// the bucket count from n to n+1 moves only 1/(n+1) of the keys.
    static func jump(_ key: UInt64, bucketCount: Int) -> Int {
        precondition(bucketCount > 0, "bucketCount \(bucketCount) must be positive")
        var key = key
        var bucket: Int64 = -1
        var next: Int64 = 0
        while next < Int64(bucketCount) {
            bucket = next
            key = key &* 2_862_933_555_777_941_757 &+ 1
            next = Int64(Double(bucket + 1) * (Double(Int64(1) << 31) / Double((key >> 33) + 1)))
        }
        return Int(bucket)
    }

    /// The rendezvous (highest-random-weight) weight of `node` for `shard`.
    static func weight(shard: ShardID, node: NodeID) -> UInt64 {
        mix(mix(node) ^ (UInt64(shard.rawValue) &+ 1) &* 0x9E37_79B9_7F4A_7C15)
    }
}

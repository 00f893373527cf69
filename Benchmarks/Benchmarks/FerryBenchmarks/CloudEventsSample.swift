/// Deterministic CloudEvents 1.0 events in structured JSON mode, the kind of payload a SaaS product sends to a
/// queue. The same generator is in `Tests/LZ4Tests/CloudEventsSample.swift`; keep the two identical, so the
/// ratio `LZ4RoundTripTests.cloudEventsJSON` prints is the ratio of the data these benchmarks compress.
enum CloudEventsSample {
    static let statuses = ["created", "paid", "shipped", "delivered"]
    static let regions = ["eu-west-1", "us-east-1", "ap-southeast-2"]
    static let currencies = ["EUR", "USD", "GBP", "AUD"]
    static let deliveryNote = "ring the bell twice, then leave the parcel at the back door; the dog is friendly"

    /// The first `byteCount` bytes of a stream of events, one a line (the last one cut where the count ends).
    static func stream(byteCount: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(byteCount + 512)
        var index = 0
        while bytes.count < byteCount {
            bytes += event(index).utf8
            bytes.append(UInt8(ascii: "\n"))
            index += 1
        }
        return Array(bytes.prefix(byteCount))
    }

    /// One short event of exactly `byteCount` bytes: an order id and a delivery note cut to fill the size.
    static func event(byteCount: Int) -> [UInt8] {
        let hash = mix(0)
        let bare = envelope(0, hash: hash, data: #"{"orderId":"ORD-100000","note":""}"#)
        let noteCount = byteCount - bare.utf8.count
        precondition(noteCount >= 0 && noteCount <= deliveryNote.utf8.count, "no event of \(byteCount) bytes")
        let note = deliveryNote.prefix(noteCount)
        return Array(envelope(0, hash: hash, data: #"{"orderId":"ORD-100000","note":"\#(note)"}"#).utf8)
    }

    /// Event number `index` of the stream: an order's state change with the usual fields.
    static func event(_ index: Int) -> String {
        let hash = mix(UInt64(index))
        let data =
            #"{"orderId":"ORD-\#(100_000 + index)","customerId":"CUST-\#(hash % 10_000)","#
            + #""amountCents":\#((hash >> 14) % 50_000 + 99),"currency":"\#(currencies[Int(hash >> 40) % 4])","#
            + #""items":\#((hash >> 30) % 9 + 1),"status":"\#(statuses[index % statuses.count])"}"#
        return envelope(index, hash: hash, data: data)
    }

    private static func envelope(_ index: Int, hash: UInt64, data: String) -> String {
        let second = (9 * 3_600 + index * 3 + Int(hash % 3)) % 86_400
        let time =
            "2025-03-14T\(digits(second / 3_600, 2)):\(digits(second / 60 % 60, 2)):\(digits(second % 60, 2))"
            + ".\(digits(Int((hash >> 20) % 1_000), 3))Z"
        let type = "com.example.order.\(statuses[index % statuses.count])"
        let source = "/shop/\(regions[Int(hash >> 50) % regions.count])/orders"
        return #"{"specversion":"1.0","type":"\#(type)","source":"\#(source)","id":"\#(uuid(hash))","#
            + #""time":"\#(time)","datacontenttype":"application/json","data":\#(data)}"#
    }

    /// A version 4 UUID drawn from `hash`.
    private static func uuid(_ hash: UInt64) -> String {
        let high = mix(hash)
        let low = mix(high)
        return "\(hex(high >> 32, 8))-\(hex(high >> 16, 4))-4\(hex(high, 3))-\(hex(0x8000 | (low >> 48) & 0x3FFF, 4))-"
            + hex(low, 12)
    }

    /// The low `count` hex digits of `value`.
    private static func hex(_ value: UInt64, _ count: Int) -> String {
        let text = String(value, radix: 16)
        return text.count >= count
            ? String(text.suffix(count)) : String(repeating: "0", count: count - text.count) + text
    }

    /// `value` in decimal, zero-padded to `count` digits.
    private static func digits(_ value: Int, _ count: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, count - text.count)) + text
    }

    /// SplitMix64's finaliser: spreads the bits of `value`.
    private static func mix(_ value: UInt64) -> UInt64 {
        var mixed = value &+ 0x9E37_79B9_7F4A_7C15
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

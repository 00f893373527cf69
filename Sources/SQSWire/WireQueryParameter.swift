/// One Query name/value pair; `path` is what is left of the dotted name at the current level.
struct WireQueryParameter {
    var fullName: String
    var path: ArraySlice<Substring>
    var value: String

    init(fullName: String, value: String) {
        self.fullName = fullName
        self.path = ArraySlice(Self.segments(of: fullName))
        self.value = value
    }

    /// The name up to and including the current level's index, e.g. `Attribute.2` (for error messages).
    var entryName: String {
        let suffixLength = path.isEmpty ? 0 : path.joined(separator: ".").utf8.count + 1
        return String(decoding: fullName.utf8.dropLast(suffixLength), as: UTF8.self)
    }

    /// Splits a name at its dots, scanning its UTF-8 in place (`String.split` walks grapheme clusters).
    private static func segments(of name: String) -> [Substring] {
        let utf8 = name.utf8
        let dotOffsets = utf8.withContiguousStorageIfAvailable { buffer -> [Int] in
            var offsets: [Int] = []
            for offset in 0..<buffer.count where buffer[offset] == UInt8(ascii: ".") { offsets.append(offset) }
            return offsets
        }
        guard let dotOffsets else {
            return name.split(separator: ".", omittingEmptySubsequences: false)
        }
        var segments: [Substring] = []
        segments.reserveCapacity(dotOffsets.count + 1)
        var segmentStart = utf8.startIndex
        for offset in dotOffsets {
            let dot = utf8.index(utf8.startIndex, offsetBy: offset)
            segments.append(name[segmentStart..<dot])
            segmentStart = utf8.index(after: dot)
        }
        segments.append(name[segmentStart..<utf8.endIndex])
        return segments
    }
}

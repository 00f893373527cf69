/// Appends XML for `XMLWireEncoder`; `action` names the `Successful` entries.
struct WireXMLWriter {
    var output: [UInt8] = []
    let action: String

    init(action: String) {
        self.action = action
    }

    /// Writes one member of a structure, flattening lists and maps as the SQS query model does.
    mutating func member(_ name: String, _ value: WireValue) {
        switch value {
        case .null:
            return
        case .list(let elements):
            let elementName: String
            switch name {
            case "QueueUrls", "queueUrls": elementName = "QueueUrl"
            case "Messages": elementName = "Message"
            case "Successful": elementName = action + "ResultEntry"
            case "Failed": elementName = "BatchResultErrorEntry"
            case "Results": elementName = "ListMessageMoveTasksResultEntry"
            case "StringListValues": elementName = "StringListValue"
            case "BinaryListValues": elementName = "BinaryListValue"
            default: elementName = Self.elementName(name)
            }
            for item in elements { element(elementName, item) }
        case .object(let object):
            switch name {
            case "Attributes": map(object, entry: "Attribute", key: "Name")
            case "Tags", "tags": map(object, entry: "Tag", key: "Key")
            case "MessageAttributes": map(object, entry: "MessageAttribute", key: "Name")
            case "MessageSystemAttributes": map(object, entry: "MessageSystemAttribute", key: "Name")
            default: structure(Self.elementName(name), object)
            }
        case .string, .integer, .double, .boolean:
            element(Self.elementName(name), value)
        }
    }

    /// Writes `<name>` with the value's content: text for a scalar, members for an object.
    mutating func element(_ name: String, _ value: WireValue) {
        switch value {
        case .null:
            return
        case .object(let object):
            structure(name, object)
        case .list(let elements):
            open(name)
            for element in elements { member("member", element) }
            close(name)
        case .string(let string):
            textElement(name, string)
        case .integer(let integer):
            open(name)
            WireText.appendDecimal(integer, to: &output)
            close(name)
        case .double(let double):
            open(name)
            WireText.appendDouble(double, to: &output)
            close(name)
        case .boolean(let flag):
            open(name)
            output.append(contentsOf: (flag ? "true" : "false").utf8)
            close(name)
        }
    }

    /// Writes `<name>members…</name>`, or `<name/>` for an empty object.
    mutating func structure(_ name: String, _ object: WireObject) {
        guard !object.isEmpty else {
            empty(name)
            return
        }
        open(name)
        for item in object.members { member(item.name, item.value) }
        close(name)
    }

    /// Writes a flattened map: `<entry><key>k</key><Value>v</Value></entry>` per member.
    mutating func map(_ object: WireObject, entry: String, key: String) {
        for member in object.members {
            open(entry)
            textElement(key, member.name)
            element("Value", member.value)
            close(entry)
        }
    }

    mutating func textElement(_ name: String, _ text: String) {
        open(name)
        appendEscaped(text)
        close(name)
    }

    mutating func open(_ name: String, attributes: String = "") {
        output.append(UInt8(ascii: "<"))
        output.append(contentsOf: name.utf8)
        output.append(contentsOf: attributes.utf8)
        output.append(UInt8(ascii: ">"))
    }

    mutating func close(_ name: String) {
        output.append(contentsOf: "</".utf8)
        output.append(contentsOf: name.utf8)
        output.append(UInt8(ascii: ">"))
    }

    mutating func empty(_ name: String) {
        output.append(UInt8(ascii: "<"))
        output.append(contentsOf: name.utf8)
        output.append(contentsOf: "/>".utf8)
    }

    /// Appends text with `&` `<` `>` `"` `'` and CR escaped, copying unescaped runs in one go.
    /// Characters XML 1.0 cannot carry at all (controls other than tab, LF and CR; U+FFFE; U+FFFF)
    /// become U+FFFD, so that the response always parses.
    mutating func appendEscaped(_ text: String) {
        WireText.withUTF8(text) { utf8 in
            var runStart = 0
            var position = 0
            while position < utf8.count {
                while utf8.count &- position >= 8, !Self.mayNeedEscape(WireText.word(utf8, at: position)) {
                    position &+= 8
                }
                let end = min(position + 8, utf8.count)
                while position < end {
                    var length = 1
                    let replacement: StaticString
                    switch utf8[position] {
                    case UInt8(ascii: "&"): replacement = "&amp;"
                    case UInt8(ascii: "<"): replacement = "&lt;"
                    case UInt8(ascii: ">"): replacement = "&gt;"
                    case UInt8(ascii: "\""): replacement = "&quot;"
                    case UInt8(ascii: "'"): replacement = "&apos;"
                    case 0x0D: replacement = "&#xD;"
                    case 0x09, 0x0A:
                        position += 1
                        continue
                    case 0x00..<0x20: replacement = "\u{FFFD}"
                    case 0xEF
                    where utf8.count - position >= 3 && utf8[position + 1] == 0xBF && utf8[position + 2] >= 0xBE:
                        replacement = "\u{FFFD}"
                        length = 3
                    default:
                        position += 1
                        continue
                    }
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<position]))
                    replacement.withUTF8Buffer { output.append(contentsOf: $0) }
                    position += length
                    runStart = position
                }
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
        }
    }

    /// False when none of the 8 bytes can need escaping. True may be a false alarm: the caller then
    /// checks the bytes one by one.
    private static func mayNeedEscape(_ word: UInt64) -> Bool {
        let specials =
            WireText.bytesEqual(word, UInt8(ascii: "&")) | WireText.bytesEqual(word, UInt8(ascii: "<"))
            | WireText.bytesEqual(word, UInt8(ascii: ">")) | WireText.bytesEqual(word, UInt8(ascii: "\""))
            | WireText.bytesEqual(word, UInt8(ascii: "'")) | WireText.bytesEqual(word, 0xEF)
            | WireText.bytesBelow(word, 0x20)
        return specials != 0
    }

    /// `name` with every character that cannot be in an XML name dropped (ASCII letters, digits,
    /// `_` `-` `.` are kept; a name must not start with a digit, `-` or `.`). SQS names pass unchanged.
    static func elementName(_ name: String) -> String {
        var isValid = !name.isEmpty
        for (position, byte) in name.utf8.enumerated() where !isNameByte(byte, first: position == 0) {
            isValid = false
            break
        }
        if isValid { return name }
        var kept: [UInt8] = []
        for byte in name.utf8 where isNameByte(byte, first: kept.isEmpty) { kept.append(byte) }
        return kept.isEmpty ? "_" : String(decoding: kept, as: UTF8.self)
    }

    private static func isNameByte(_ byte: UInt8, first: Bool) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "_"): true
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."): !first
        default: false
        }
    }
}

/// Text for XML and HTML pages.
public enum MarkupText {
    /// `text` escaped for XML or HTML text and attribute values (as SQS responses escape it): what the web
    /// console and the chaos report write into their pages.
    public static func escaped(_ text: String) -> String {
        var writer = WireXMLWriter(action: "")
        writer.appendEscaped(text)
        return String(decoding: writer.output, as: UTF8.self)
    }
}

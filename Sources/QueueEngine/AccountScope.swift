/// Queues of several accounts in one engine. A queue of the engine's own account (`--account-id`) keeps
/// its bare name; a queue of another account is stored as `ACCOUNT/NAME`, which no client can name
/// (queue names have no `/`). Its URL and ARN carry its own account and bare name. Placement hashes the
/// bare name, so an ARN routes without knowing which account is the engine's own.
public enum AccountScope {
    /// Account ids are 12 decimal digits.
    public static let accountIdLength = 12

    /// The stored name of `bare` (a client's queue name, without `/`) in `account`.
    public static func name(_ bare: String, account: String, ownAccount: String) -> String {
        account == ownAccount ? bare : "\(account)/\(bare)"
    }

    /// The account (nil: the engine's own) and bare name of a stored name.
    public static func split(_ name: String) -> (account: Substring?, bare: Substring) {
        guard let slash = name.utf8.firstIndex(of: UInt8(ascii: "/")) else { return (nil, Substring(name)) }
        return (name[..<slash], name[name.index(after: slash)...])
    }

    /// The bare name of a stored name.
    public static func bare(_ name: String) -> Substring { split(name).bare }

    /// Whether `name` is a queue of `account`.
    public static func belongs(_ name: String, to account: String, ownAccount: String) -> Bool {
        let (scope, _) = split(name)
        return scope.map { $0 == account } ?? (account == ownAccount)
    }

    /// Whether `text` is an account id: 12 decimal digits.
    public static func isAccountId<Text: StringProtocol>(_ text: Text) -> Bool {
        text.utf8.count == accountIdLength && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// The account an ARN `arn:aws:sqs:REGION:ACCOUNT:NAME` names, or nil when it is not one.
    public static func account(ofArn arn: String) -> Substring? {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "sqs" else { return nil }
        return parts[4]
    }
}

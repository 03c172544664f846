import Yams

/// `retention: 30d`: how long a finished run's stored output tails and work directory are kept
/// (rows, states, error classes, file hashes and the audit are kept regardless).
extension JobFileParser {
    mutating func readRetention(_ node: Node) -> JobDuration? {
        readDuration(node, key: "retention", zeroAllowed: false)
    }
}

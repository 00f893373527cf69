import Foundation
import SegmentLog

/// A simulated disk for tests: it keeps what was written apart from what was made durable, so a test
/// can crash the process (written bytes survive, as in the page cache), lose power (only synced bytes
/// and synced directory entries survive), tear a write at any byte, fail any operation with an errno,
/// and flip bits in stored files.
///
/// `@unchecked Sendable`: every entry point takes `lock` (recursive, since file handles call back in).
public final class FakeFileSystem: FileSystem, @unchecked Sendable {
    let lock = NSRecursiveLock()

    /// The operations a fault can target.
    public enum Operation: String, Sendable {
        case open, write, truncate, synchronize, rename, remove, synchronizeDirectory
    }

    final class Inode {
        var current: [UInt8] = []
        var durable: [UInt8] = []
    }

    struct Fault {
        var operation: Operation
        var pathContains: String?
        var errorNumber: Int32
        /// For a write: bytes to write before failing (a torn write), and whether the failure is a crash.
        var keepBytes: Int?
        var crashes: Bool
    }

    private var directories: Set<String> = ["/"]
    private var namespace: [String: Inode] = [:]
    private var durableNamespace: [String: Inode] = [:]
    private var faults: [Fault] = []
    /// Bumped by a crash: handles opened before it fail.
    private(set) var generation = 0
    /// True after an injected crash, until `restart`.
    public private(set) var isCrashed = false
    /// Bytes written by all `write` calls.
    public private(set) var bytesWritten = 0
    /// Count of every operation performed, by kind.
    public private(set) var operationCounts: [Operation: Int] = [:]

    public init() {}

    // MARK: Faults and crashes

    /// Makes the next `operation` (on a path containing `pathContains`) fail with `errorNumber`.
    public func failNext(_ operation: Operation, errorNumber: Int32, pathContains: String? = nil) {
        lock.lock()
        defer { lock.unlock() }
        faults.append(Fault(operation: operation, pathContains: pathContains, errorNumber: errorNumber, crashes: false))
    }

    /// Makes the next write (on a matching path) reach the disk only for its first `keepBytes` bytes, then
    /// crashes the process: every later call fails until `restart`.
    public func crashDuringNextWrite(keepBytes: Int, pathContains: String? = nil) {
        lock.lock()
        defer { lock.unlock() }
        faults.append(
            Fault(operation: .write, pathContains: pathContains, errorNumber: 5, keepBytes: keepBytes, crashes: true))
    }

    /// A process crash: what was written stays (the page cache survives); open handles die.
    public func restart() {
        lock.lock()
        defer { lock.unlock() }
        isCrashed = false
        faults.removeAll()
        generation += 1
    }

    /// A power loss: only synced data and synced directory entries survive; open handles die. With
    /// `keepUnsyncedBytes`, that many bytes of each file's unsynced appended tail survive as well (torn).
    public func powerLoss(keepUnsyncedBytes: Int = 0) {
        losePower { unsynced in Array(unsynced.prefix(keepUnsyncedBytes)) }
    }

    /// A power loss during writes: each file's unsynced appended tail reached the disk up to a random
    /// length, and within it each `sectorBytes` sector either holds what was written or zeros (sectors
    /// persist in any order, so a record's header may survive while its body does not). Synced data and
    /// synced directory entries survive; open handles die.
    public func powerLoss(scramblingUnsyncedWith random: inout some RandomNumberGenerator, sectorBytes: Int = 512) {
        losePower { unsynced in
            var persisted = Array(unsynced.prefix(Int.random(in: 0...unsynced.count, using: &random)))
            var sector = 0
            while sector < persisted.count {
                // Sectors counted from where synced data ends.
                let end = min(persisted.count, sector + sectorBytes)
                if Bool.random(using: &random) {
                    for offset in sector..<end { persisted[offset] = 0 }
                }
                sector = end
            }
            return persisted
        }
    }

    /// Keeps each file's synced bytes, plus what `survivingTail` keeps of an unsynced appended tail (a file
    /// rewritten in place since its last sync keeps only its synced bytes).
    private func losePower(_ survivingTail: (ArraySlice<UInt8>) -> [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        var seen = Set<ObjectIdentifier>()
        // In path order: `survivingTail` may draw from a seeded generator, and a seed must replay exactly
        // (a dictionary's order changes from process to process).
        let inodes = [namespace, durableNamespace].flatMap { $0.sorted { $0.key < $1.key }.map(\.value) }
        for inode in inodes where seen.insert(ObjectIdentifier(inode)).inserted {
            let durable = inode.durable
            if inode.current.count > durable.count, inode.current.starts(with: durable) {
                inode.current = durable + survivingTail(inode.current[durable.count...])
            } else {
                inode.current = durable
            }
        }
        namespace = durableNamespace
        restart()
    }

    /// Makes the next fdatasync (on a matching path) crash the process without syncing: what it would have
    /// made durable is still only written.
    public func crashAtNextSync(pathContains: String? = nil) {
        lock.lock()
        defer { lock.unlock() }
        faults.append(Fault(operation: .synchronize, pathContains: pathContains, errorNumber: 5, crashes: true))
    }

    /// Flips one bit of a stored file, in both its written and durable contents.
    public func flipBit(path: String, byteOffset: Int, bit: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard let inode = namespace[path] else { preconditionFailure("no file \(path)") }
        inode.current[byteOffset] ^= UInt8(1 << bit)
        if byteOffset < inode.durable.count { inode.durable[byteOffset] ^= UInt8(1 << bit) }
    }

    /// A file's written contents, or nil.
    public func contents(_ path: String) -> [UInt8]? {
        lock.lock()
        defer { lock.unlock() }
        return namespace[path]?.current
    }

    /// Replaces a file's contents (written and durable).
    public func setContents(_ path: String, _ bytes: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        guard let inode = namespace[path] else { preconditionFailure("no file \(path)") }
        inode.current = bytes
        inode.durable = bytes
    }

    /// Every file path, sorted.
    public var paths: [String] {
        lock.lock()
        defer { lock.unlock() }
        return namespace.keys.sorted()
    }

    // MARK: FileSystem

    public func createDirectory(_ path: String) throws(FileSystemError) {
        lock.lock()
        defer { lock.unlock() }
        try check(.open, path)
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            directories.insert(prefix)
        }
    }

    public func contentsOfDirectory(_ path: String) throws(FileSystemError) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        try check(.open, path)
        guard directories.contains(normalized(path)) else {
            throw FileSystemError(operation: "opendir", path: path, errorNumber: 2)
        }
        let prefix = normalized(path) + "/"
        return namespace.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }
            .map { String($0.dropFirst(prefix.count)) }
    }

    public func openFile(_ path: String, create: Bool) throws(FileSystemError) -> any LogFile {
        lock.lock()
        defer { lock.unlock() }
        try check(.open, path)
        let path = normalized(path)
        if namespace[path] == nil {
            guard create else { throw FileSystemError(operation: "open", path: path, errorNumber: 2) }
            namespace[path] = Inode()
        }
        return FakeLogFile(fileSystem: self, inode: namespace[path]!, path: path, generation: generation)
    }

    public func rename(_ source: String, to destination: String) throws(FileSystemError) {
        lock.lock()
        defer { lock.unlock() }
        try check(.rename, source)
        guard let inode = namespace.removeValue(forKey: normalized(source)) else {
            throw FileSystemError(operation: "rename", path: source, errorNumber: 2)
        }
        namespace[normalized(destination)] = inode
    }

    public func removeFile(_ path: String) throws(FileSystemError) {
        lock.lock()
        defer { lock.unlock() }
        try check(.remove, path)
        guard namespace.removeValue(forKey: normalized(path)) != nil else {
            throw FileSystemError(operation: "unlink", path: path, errorNumber: 2)
        }
    }

    public func synchronizeDirectory(_ path: String) throws(FileSystemError) {
        lock.lock()
        defer { lock.unlock() }
        try check(.synchronizeDirectory, path)
        let prefix = normalized(path) + "/"
        durableNamespace = durableNamespace.filter { !$0.key.hasPrefix(prefix) }
        for (name, inode) in namespace where name.hasPrefix(prefix) { durableNamespace[name] = inode }
    }

    // MARK: Internals for FakeLogFile

    /// Counts an operation, fails it if crashed or a fault matches; returns the bytes a torn write keeps.
    @discardableResult
    func check(_ operation: Operation, _ path: String, generation handleGeneration: Int? = nil) throws(FileSystemError)
        -> Int?
    {
        lock.lock()
        defer { lock.unlock() }
        operationCounts[operation, default: 0] += 1
        if isCrashed || (handleGeneration.map { $0 != generation } ?? false) {
            throw FileSystemError(operation: operation.rawValue, path: path, errorNumber: 5)
        }
        guard
            let position = faults.firstIndex(where: { fault in
                fault.operation == operation && (fault.pathContains.map { path.contains($0) } ?? true)
            })
        else { return nil }
        let fault = faults.remove(at: position)
        if fault.crashes { isCrashed = true }
        if let keep = fault.keepBytes { return keep }
        throw FileSystemError(operation: operation.rawValue, path: path, errorNumber: fault.errorNumber)
    }

    func recordWrite(_ count: Int) {
        lock.lock()
        defer { lock.unlock() }
        bytesWritten += count
    }

    private func normalized(_ path: String) -> String {
        "/" + path.split(separator: "/").joined(separator: "/")
    }
}

/// A handle on a fake file.
final class FakeLogFile: LogFile {
    private let fileSystem: FakeFileSystem
    private let inode: FakeFileSystem.Inode
    private let path: String
    private let generation: Int
    private var isClosed = false

    init(fileSystem: FakeFileSystem, inode: FakeFileSystem.Inode, path: String, generation: Int) {
        self.fileSystem = fileSystem
        self.inode = inode
        self.path = path
        self.generation = generation
    }

    func size() throws(FileSystemError) -> Int {
        fileSystem.lock.lock()
        defer { fileSystem.lock.unlock() }
        try usable("fstat")
        return inode.current.count
    }

    func read(at offset: Int, count: Int) throws(FileSystemError) -> [UInt8] {
        fileSystem.lock.lock()
        defer { fileSystem.lock.unlock() }
        try usable("pread")
        guard offset < inode.current.count else { return [] }
        return Array(inode.current[offset..<min(inode.current.count, offset + count)])
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileSystemError) {
        fileSystem.lock.lock()
        defer { fileSystem.lock.unlock() }
        try usable("pwrite")
        let keep = try fileSystem.check(.write, path, generation: generation)
        let written = min(keep ?? bytes.count, bytes.count)
        if inode.current.count < offset {
            inode.current.append(contentsOf: repeatElement(0, count: offset - inode.current.count))
        }
        let kept = UnsafeRawBufferPointer(rebasing: bytes[..<written])
        if offset == inode.current.count {
            inode.current.append(contentsOf: kept)
        } else {
            let end = offset + written
            if inode.current.count < end {
                inode.current.append(contentsOf: repeatElement(0, count: end - inode.current.count))
            }
            inode.current.withUnsafeMutableBytes { target in
                UnsafeMutableRawBufferPointer(rebasing: target[offset..<end]).copyMemory(from: kept)
            }
        }
        fileSystem.recordWrite(written)
        if keep != nil { throw FileSystemError(operation: "pwrite", path: path, errorNumber: 5) }
    }

    func truncate(to size: Int) throws(FileSystemError) {
        fileSystem.lock.lock()
        defer { fileSystem.lock.unlock() }
        try usable("ftruncate")
        try fileSystem.check(.truncate, path, generation: generation)
        if size < inode.current.count {
            inode.current.removeSubrange(size...)
        } else {
            inode.current.append(contentsOf: repeatElement(0, count: size - inode.current.count))
        }
    }

    func synchronize() throws(FileSystemError) {
        fileSystem.lock.lock()
        defer { fileSystem.lock.unlock() }
        try usable("fdatasync")
        try fileSystem.check(.synchronize, path, generation: generation)
        inode.durable = inode.current
    }

    func close() { isClosed = true }

    private func usable(_ operation: String) throws(FileSystemError) {
        guard !isClosed else { throw FileSystemError(operation: operation, path: path, errorNumber: 9) }
        guard generation == fileSystem.generation, !fileSystem.isCrashed else {
            throw FileSystemError(operation: operation, path: path, errorNumber: 5)
        }
    }
}

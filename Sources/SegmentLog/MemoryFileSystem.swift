import Synchronization

/// A file system in memory, for a node that keeps nothing on disk (`ferry serve --in-memory`): the same
/// log code runs, and everything is gone when the process ends. Removed files free their memory, so a
/// log that snapshots and compacts stays bounded.
public final class MemoryFileSystem: FileSystem {
    final class Storage: Sendable {
        let bytes = Mutex<[UInt8]>([])
    }

    private struct State {
        var directories: Set<String> = ["/", ""]
        var files: [String: Storage] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    private static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    public func createDirectory(_ path: String) throws(FileSystemError) {
        state.withLock { state in
            var prefix = ""
            for (position, component) in path.split(separator: "/", omittingEmptySubsequences: false).enumerated() {
                prefix = position == 0 ? String(component) : prefix + "/" + component
                state.directories.insert(prefix)
            }
        }
    }

    public func contentsOfDirectory(_ path: String) throws(FileSystemError) -> [String] {
        try state.withLock { state throws(FileSystemError) in
            guard state.directories.contains(path) else {
                throw FileSystemError(operation: "list", path: path, errorNumber: 2)
            }
            return state.files.keys.compactMap { file in
                let (directory, name) = Self.split(file)
                return directory == path ? name : nil
            }
        }
    }

    public func openFile(_ path: String, create: Bool) throws(FileSystemError) -> any LogFile {
        let storage = try state.withLock { state throws(FileSystemError) -> Storage in
            if let existing = state.files[path] { return existing }
            guard create, state.directories.contains(Self.split(path).directory) else {
                throw FileSystemError(operation: "open", path: path, errorNumber: 2)
            }
            let storage = Storage()
            state.files[path] = storage
            return storage
        }
        return MemoryFile(storage: storage, path: path)
    }

    public func rename(_ source: String, to destination: String) throws(FileSystemError) {
        try state.withLock { state throws(FileSystemError) in
            guard let storage = state.files.removeValue(forKey: source) else {
                throw FileSystemError(operation: "rename", path: source, errorNumber: 2)
            }
            state.files[destination] = storage
        }
    }

    public func removeFile(_ path: String) throws(FileSystemError) {
        try state.withLock { state throws(FileSystemError) in
            guard state.files.removeValue(forKey: path) != nil else {
                throw FileSystemError(operation: "unlink", path: path, errorNumber: 2)
            }
        }
    }

    public func synchronizeDirectory(_ path: String) throws(FileSystemError) {}
}

/// An open file of a `MemoryFileSystem`.
final class MemoryFile: LogFile {
    private let storage: MemoryFileSystem.Storage
    private let path: String

    init(storage: MemoryFileSystem.Storage, path: String) {
        self.storage = storage
        self.path = path
    }

    func size() throws(FileSystemError) -> Int { storage.bytes.withLock { $0.count } }

    func read(at offset: Int, count: Int) throws(FileSystemError) -> [UInt8] {
        storage.bytes.withLock { bytes in
            guard offset < bytes.count else { return [] }
            return Array(bytes[offset..<min(bytes.count, offset + count)])
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileSystemError) {
        storage.bytes.withLock { stored in
            if stored.count < offset + bytes.count {
                stored.append(contentsOf: repeatElement(0, count: offset + bytes.count - stored.count))
            }
            stored.withUnsafeMutableBytes { target in
                UnsafeMutableRawBufferPointer(rebasing: target[offset..<(offset + bytes.count)]).copyMemory(from: bytes)
            }
        }
    }

    func truncate(to size: Int) throws(FileSystemError) {
        storage.bytes.withLock { bytes in
            if bytes.count > size {
                bytes.removeSubrange(size...)
            } else {
                bytes.append(contentsOf: repeatElement(0, count: size - bytes.count))
            }
        }
    }

    func synchronize() throws(FileSystemError) {}
    func reserve(bytes: Int) {}
    func close() {}
}

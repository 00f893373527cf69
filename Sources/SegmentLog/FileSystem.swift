/// The file operations the log needs, so tests can run it on a simulated disk that tears writes, loses
/// what was never synced and fails with ENOSPC or EIO on demand (`TestSupport.FakeFileSystem`).
///
/// Paths are plain strings joined with `/`. The real file system is stateless; a fake one may assume that
/// one log owns one directory and calls from one thread at a time.
public protocol FileSystem: AnyObject, Sendable {
    /// Creates `path` and any missing parents; succeeds when it exists.
    func createDirectory(_ path: String) throws(FileSystemError)
    /// The names (not paths) in a directory, in no particular order.
    func contentsOfDirectory(_ path: String) throws(FileSystemError) -> [String]
    /// Opens a file for reading and writing, creating it (empty) when `create` is true and it is missing.
    func openFile(_ path: String, create: Bool) throws(FileSystemError) -> any LogFile
    /// Renames atomically, replacing `destination` if it exists.
    func rename(_ source: String, to destination: String) throws(FileSystemError)
    /// Removes a file.
    func removeFile(_ path: String) throws(FileSystemError)
    /// Makes the directory's entries (created, renamed, removed files) durable.
    func synchronizeDirectory(_ path: String) throws(FileSystemError)
}

/// One open file.
public protocol LogFile: AnyObject {
    /// The file's size in bytes.
    func size() throws(FileSystemError) -> Int
    /// Reads up to `count` bytes at `offset`; fewer only at the end of the file.
    func read(at offset: Int, count: Int) throws(FileSystemError) -> [UInt8]
    /// Writes all of `bytes` at `offset`, or throws.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileSystemError)
    /// Sets the file's size, dropping what lies beyond it.
    func truncate(to size: Int) throws(FileSystemError)
    /// Makes the file's data durable (fdatasync).
    func synchronize() throws(FileSystemError)
    /// Reserves disk blocks for the file up to `bytes` without changing its size (a hint: file systems that
    /// cannot do it ignore it). Appends into reserved blocks make fdatasync cheaper.
    func reserve(bytes: Int)
    /// Releases the file; later calls fail.
    func close()
}

/// A failed file operation: which, on what path, and the errno it failed with.
public struct FileSystemError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The operation, e.g. `write`, `fdatasync`, `rename`.
    public var operation: String
    public var path: String
    /// The POSIX error number (ENOSPC 28, EIO 5, ENOENT 2, …).
    public var errorNumber: Int32

    public init(operation: String, path: String, errorNumber: Int32) {
        self.operation = operation
        self.path = path
        self.errorNumber = errorNumber
    }

    public var description: String { "\(operation) \(path): \(Self.describe(errorNumber))" }

    /// A short text for the common error numbers.
    static func describe(_ errorNumber: Int32) -> String {
        switch errorNumber {
        case 2: "no such file or directory (ENOENT)"
        case 5: "input/output error (EIO)"
        case 13: "permission denied (EACCES)"
        case 28: "no space left on device (ENOSPC)"
        case 30: "read-only file system (EROFS)"
        case 122: "disk quota exceeded (EDQUOT)"
        default: "errno \(errorNumber)"
        }
    }
}

extension FileSystem {
    /// `directory/name`.
    public func path(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}

extension LogFile {
    /// No reservation by default.
    public func reserve(bytes: Int) {}

    /// Writes all of `bytes` at `offset`.
    public func write(_ bytes: [UInt8], at offset: Int) throws(FileSystemError) {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(FileSystemError) in try write(buffer, at: offset) }
        }
        try result.get()
    }
}

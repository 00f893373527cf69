#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The real disk, through POSIX calls: `pwrite`, `pread`, `fdatasync`, `rename`, and `fsync` on the
/// directory after creating, renaming or removing a file. What it creates is private to the user the node
/// runs as (directories 0700, files 0600: queue contents, keys and terms), and it never opens a file
/// through a symbolic link (`O_NOFOLLOW`), so a link planted in a data directory cannot redirect a write.
public final class PosixFileSystem: FileSystem {
    public init() {}

    public func createDirectory(_ path: String) throws(FileSystemError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o700) != 0, errno != EEXIST {
                throw FileSystemError(operation: "mkdir", path: prefix, errorNumber: errno)
            }
            prefix += "/"
        }
    }

    public func contentsOfDirectory(_ path: String) throws(FileSystemError) -> [String] {
        guard let directory = opendir(path) else {
            throw FileSystemError(operation: "opendir", path: path, errorNumber: errno)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func openFile(_ path: String, create: Bool) throws(FileSystemError) -> any LogFile {
        let flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0)
        let descriptor = open(path, flags, 0o600)
        guard descriptor >= 0 else { throw FileSystemError(operation: "open", path: path, errorNumber: errno) }
        return PosixLogFile(descriptor: descriptor, path: path)
    }

    public func rename(_ source: String, to destination: String) throws(FileSystemError) {
        #if canImport(Glibc)
            let result = Glibc.rename(source, destination)
        #else
            let result = Darwin.rename(source, destination)
        #endif
        guard result == 0 else { throw FileSystemError(operation: "rename", path: source, errorNumber: errno) }
    }

    public func removeFile(_ path: String) throws(FileSystemError) {
        guard unlink(path) == 0 else { throw FileSystemError(operation: "unlink", path: path, errorNumber: errno) }
    }

    public func synchronizeDirectory(_ path: String) throws(FileSystemError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileSystemError(operation: "open", path: path, errorNumber: errno) }
        defer { _ = Glibc.close(descriptor) }
        guard fsync(descriptor) == 0 else { throw FileSystemError(operation: "fsync", path: path, errorNumber: errno) }
    }
}

/// A file descriptor. Not Sendable: its log owns it.
final class PosixLogFile: LogFile {
    private var descriptor: Int32
    let path: String

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close() }

    func size() throws(FileSystemError) -> Int {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw failure("fstat") }
        return Int(status.st_size)
    }

    func read(at offset: Int, count: Int) throws(FileSystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let result = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset + done))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw failure("pread")
            }
            if result == 0 { break }
            done += result
        }
        if done < count { bytes.removeSubrange(done...) }
        return bytes
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileSystemError) {
        var done = 0
        while done < bytes.count {
            let result = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if result < 0 {
                if errno == EINTR { continue }
                throw failure("pwrite")
            }
            done += result
        }
    }

    func truncate(to size: Int) throws(FileSystemError) {
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw failure("ftruncate") }
    }

    func synchronize() throws(FileSystemError) {
        #if canImport(Glibc)
            guard fdatasync(descriptor) == 0 else { throw failure("fdatasync") }
        #else
            guard fsync(descriptor) == 0 else { throw failure("fsync") }
        #endif
    }

    func reserve(bytes: Int) {
        // FALLOC_FL_KEEP_SIZE (1): blocks are allocated, the size (and so recovery) is unchanged.
        _ = Self.fallocate?(descriptor, 1, 0, off_t(bytes))
    }

    /// Linux's fallocate(2), looked up at run time: Glibc's module map hides it (it needs _GNU_SOURCE).
    private static let fallocate: (@convention(c) (Int32, Int32, off_t, off_t) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "fallocate") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32, off_t, off_t) -> Int32).self)
    }()

    func close() {
        guard descriptor >= 0 else { return }
        _ = Glibc.close(descriptor)
        descriptor = -1
    }

    private func failure(_ operation: String) -> FileSystemError {
        FileSystemError(operation: operation, path: path, errorNumber: descriptor < 0 ? EBADF : errno)
    }
}

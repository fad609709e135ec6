#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where an exporter, the recorder or the printer puts its bytes: a file descriptor or memory.
///
/// Writers hand over large chunks (whole documents, whole lines), never one value at a time.
public protocol ByteSink: AnyObject {
    /// Writes every byte or throws; a short write by the kernel is completed, not reported.
    func write(_ bytes: UnsafeRawBufferPointer) throws
    func close() throws
}

extension ByteSink {
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }
}

/// Why output could not be written, in words for the user.
public enum OutputError: Error, Equatable, CustomStringConvertible {
    case open(path: String, reason: String)
    case write(path: String, reason: String)

    public var description: String {
        switch self {
        case .open(let path, let reason): "cannot open \(path) for writing: \(reason)"
        case .write(let path, let reason): "cannot write to \(path): \(reason)"
        }
    }
}

/// A sink over a POSIX file descriptor (a file, stdout, a pipe).
public final class FileSink: ByteSink {
    public let fileDescriptor: Int32
    /// Shown in errors.
    public let name: String
    private let ownsDescriptor: Bool
    private var closed = false

    /// Wraps a descriptor the caller keeps owning (stdout); `close()` leaves it open.
    public init(fileDescriptor: Int32, name: String) {
        self.fileDescriptor = fileDescriptor
        self.name = name
        ownsDescriptor = false
    }

    /// Creates (or truncates, or appends to) a file with mode 0644.
    public init(path: String, append: Bool = false) throws {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC)
        let fd = open(path, flags, 0o644)
        if fd < 0 { throw OutputError.open(path: path, reason: FileSink.reason(errno)) }
        fileDescriptor = fd
        name = path
        ownsDescriptor = true
    }

    public static func standardOutput() -> FileSink { FileSink(fileDescriptor: 1, name: "standard output") }
    public static func standardError() -> FileSink { FileSink(fileDescriptor: 2, name: "standard error") }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            #if canImport(Darwin)
            let n = Darwin.write(fileDescriptor, base, left)
            #elseif canImport(Glibc)
            let n = Glibc.write(fileDescriptor, base, left)
            #else
            let n = Musl.write(fileDescriptor, base, left)
            #endif
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw OutputError.write(path: name, reason: FileSink.reason(errno))
            }
            base += n
            left -= n
        }
    }

    public func close() throws {
        guard ownsDescriptor, !closed else { return }
        closed = true
        #if canImport(Darwin)
        let rc = Darwin.close(fileDescriptor)
        #elseif canImport(Glibc)
        let rc = Glibc.close(fileDescriptor)
        #else
        let rc = Musl.close(fileDescriptor)
        #endif
        if rc != 0 { throw OutputError.write(path: name, reason: FileSink.reason(errno)) }
    }

    deinit {
        if ownsDescriptor && !closed { _ = try? close() }
    }

    static func reason(_ code: Int32) -> String {
        guard let s = strerror(code) else { return "error \(code)" }
        return String(cString: s).lowercased()
    }
}

/// A sink that keeps everything in memory: for tests and for callers that want the bytes.
public final class MemorySink: ByteSink {
    public private(set) var bytes: [UInt8] = []
    /// The size of every `write` call, in order: tests use it to prove lines are never split.
    public private(set) var writeSizes: [Int] = []
    public private(set) var isClosed = false

    public init() {}

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        self.bytes.append(contentsOf: bytes)
        writeSizes.append(bytes.count)
    }

    public func close() throws { isClosed = true }

    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

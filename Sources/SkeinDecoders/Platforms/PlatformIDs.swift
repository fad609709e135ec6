import SkeinCore

/// The platform id shapes that carry a W3C-compatible trace id.
enum PlatformIDs {
    /// `1-5759e988-bd862e3fe1be46a994272793` (X-Ray: version, 8 hex epoch seconds, 24 hex) → the
    /// 32-hex W3C trace id the X-Ray SDKs and the OpenTelemetry X-Ray propagator use for it.
    static func traceID(xrayRoot b: UnsafeBufferPointer<UInt8>) -> String? {
        guard b.count == 35, b[0] == UInt8(ascii: "1"), b[1] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "-"),
              ByteText.isHex(b, 2, 10), ByteText.isHex(b, 11, 35) else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(32)
        for i in 2..<10 { out.append(ByteText.lower(b[i])) }
        for i in 11..<35 { out.append(ByteText.lower(b[i])) }
        return String(decoding: out, as: UTF8.self)
    }

    static func traceID(xrayRoot s: String) -> String? {
        var s = s
        return s.withUTF8 { traceID(xrayRoot: $0) }
    }

    /// `Root=1-…;Parent=53995c3f42cd8ad8;Sampled=1` (the `X-Amzn-Trace-Id` header, Lambda's
    /// `_X_AMZN_TRACE_ID`, the telemetry API's `tracing.value`) → trace id and parent span id.
    static func amznTraceHeader(_ s: String) -> (traceID: String?, parent: String?) {
        var s = s
        return s.withUTF8 { b in
            var trace: String?
            var parent: String?
            var p = 0
            while p < b.count {
                var e = p
                while e < b.count, b[e] != UInt8(ascii: ";") { e += 1 }
                var s0 = ByteText.skipSpaces(b, p)
                if ByteText.hasPrefixIgnoringCase(b, "root=", at: s0) {
                    s0 += 5
                    trace = traceID(xrayRoot: ByteText.slice(b, s0, ByteText.trimmedEnd(b, s0, e)))
                } else if ByteText.hasPrefixIgnoringCase(b, "parent=", at: s0) {
                    s0 += 7
                    let pe = ByteText.trimmedEnd(b, s0, e)
                    if pe - s0 == 16, ByteText.isHex(b, s0, pe) { parent = ByteText.string(b, s0, pe).lowercased() }
                }
                p = e + 1
            }
            return (trace, parent)
        }
    }

    /// `00-<32 hex trace>-<16 hex parent>-<2 hex flags>` → trace id and parent span id (lower case).
    static func traceparent(_ s: String) -> (traceID: String, parent: String)? {
        var s = s
        return s.withUTF8 { b in
            let start = ByteText.skipSpaces(b, 0)
            let e = ByteText.trimmedEnd(b, start, b.count)
            guard e - start >= 55, b[start + 2] == UInt8(ascii: "-"), b[start + 35] == UInt8(ascii: "-"),
                  b[start + 52] == UInt8(ascii: "-"), ByteText.isHex(b, start, start + 2),
                  ByteText.isHex(b, start + 3, start + 35), ByteText.isHex(b, start + 36, start + 52) else { return nil }
            let trace = ByteText.string(b, start + 3, start + 35).lowercased()
            guard trace != String(repeating: "0", count: 32) else { return nil }
            return (trace, ByteText.string(b, start + 36, start + 52).lowercased())
        }
    }

    /// A W3C/OTLP trace id as given (32 hex), lower-cased; nil for anything else or all zeros.
    static func normalisedTraceID(_ s: String) -> String? {
        guard s.utf8.count == 32, s.utf8.allSatisfy({ isHexByte($0) }) else { return nil }
        let t = s.lowercased()
        return t.utf8.allSatisfy({ $0 == UInt8(ascii: "0") }) ? nil : t
    }

    static func normalisedSpanID(_ s: String) -> String? {
        guard s.utf8.count == 16, s.utf8.allSatisfy({ isHexByte($0) }) else { return nil }
        let t = s.lowercased()
        return t.utf8.allSatisfy({ $0 == UInt8(ascii: "0") }) ? nil : t
    }

    @inline(__always)
    static func isHexByte(_ c: UInt8) -> Bool {
        ByteText.isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
    }
}

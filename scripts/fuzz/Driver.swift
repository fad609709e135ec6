// libFuzzer's entry for every harness of scripts/fuzz.sh (copied beside the harness, which defines
// `fuzz(_:_:)`, into the throw-away package's Fuzz target).
// SwiftPM gives an executable's `main` the name `<module>_main`: hand it to libFuzzer's driver.
typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: FuzzCallback) -> CInt

@_cdecl("Fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var c = argc
    var v = argv
    return LLVMFuzzerRunDriver(&c, &v) { data, size in size == 0 ? 0 : fuzz(data!, size) }
}

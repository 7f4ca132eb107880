// libFuzzer entry point for the FeaturePipeline sources (compiled into the same module by Fuzz/run.sh, so
// internal API is reachable). The target is chosen by the FUZZ_TARGET environment variable:
//   records — RecordPipeline.process over the input (and over each of its lines), with output round-trips;
//   models  — XGBoostModel(jsonData:) and BaselineModel(jsonData:) over the input.
// Any violated invariant calls `fuzzFailure`, which aborts so libFuzzer saves the input as a crash.

#if canImport(Glibc)
import Glibc
#endif
import Foundation

enum FuzzTarget {
    case records, models

    static let selected: FuzzTarget = {
        switch getenv("FUZZ_TARGET").map({ String(cString: $0) }) {
        case "models": return .models
        case "records", nil: return .records
        case let other?:
            writeStandardError("FUZZ_TARGET must be 'records' or 'models', not '\(other)'\n")
            exit(2)
        }
    }()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    switch FuzzTarget.selected {
    case .records: RecordFuzzing.run(input)
    case .models: ModelFuzzing.run(input)
    }
    return 0
}

/// Reports a violated invariant and aborts (libFuzzer records the input as a crash artifact).
func fuzzFailure(_ message: String) -> Never {
    writeStandardError("FUZZ INVARIANT VIOLATED: \(message)\n")
    abort()
}

func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

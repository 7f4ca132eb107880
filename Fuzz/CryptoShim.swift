// Stand-in for swift-crypto's SHA256 so the fuzz build needs only the Swift toolchain. LoadedModel uses
// SHA256.hash(data:) only for the model version label, which the fuzz targets never check.
import Foundation

enum SHA256 {
    static func hash(data: Data) -> [UInt8] {
        // FNV-1a, widened to 32 bytes: deterministic, not cryptographic.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return (0..<32).map { UInt8(truncatingIfNeeded: h >> (UInt64($0 % 8) * 8)) }
    }
}

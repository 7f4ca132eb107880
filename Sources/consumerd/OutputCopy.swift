import FeaturePipeline
import Foundation

/// What the audit keeps of one published prediction: everything it compares, in 64 bytes, so a million outputs
/// can wait on disk (``OutputIndex``) for the replay instead of in memory.
struct OutputCopy: Equatable {
    /// Index of the output's (`model_variant`, `model_version`) in ``ModelNames``.
    var model: UInt32
    var label: UInt8
    /// The output carries `"fallback_reason"` (scored by the baseline after an ML failure).
    var fallback: Bool
    var probability: Double
    /// FNV-1a of `product_id` (a collision would hide a wrong product id one time in 2⁶⁴).
    var productHash: UInt64
    /// The five features in model order; `null` or missing reads as +∞ (the encoder writes `null` for
    /// non-finite values).
    var features: (Double, Double, Double, Double, Double)

    static let byteCount = 64

    static func == (a: OutputCopy, b: OutputCopy) -> Bool {
        a.model == b.model && a.label == b.label && a.fallback == b.fallback
            && a.probability.bitPattern == b.probability.bitPattern && a.productHash == b.productHash
            && a.features.0.bitPattern == b.features.0.bitPattern && a.features.1.bitPattern == b.features.1.bitPattern
            && a.features.2.bitPattern == b.features.2.bitPattern && a.features.3.bitPattern == b.features.3.bitPattern
            && a.features.4.bitPattern == b.features.4.bitPattern
    }

    func feature(_ index: Int) -> Double {
        switch index {
        case 0: features.0
        case 1: features.1
        case 2: features.2
        case 3: features.3
        default: features.4
        }
    }

    func write(to buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        buffer.storeBytes(of: model.littleEndian, toByteOffset: offset, as: UInt32.self)
        buffer.storeBytes(of: label, toByteOffset: offset + 4, as: UInt8.self)
        buffer.storeBytes(of: fallback ? 1 : 0, toByteOffset: offset + 5, as: UInt8.self)
        buffer.storeBytes(of: probability.bitPattern.littleEndian, toByteOffset: offset + 8, as: UInt64.self)
        buffer.storeBytes(of: productHash.littleEndian, toByteOffset: offset + 16, as: UInt64.self)
        for index in 0..<5 {
            buffer.storeBytes(of: feature(index).bitPattern.littleEndian, toByteOffset: offset + 24 + 8 * index, as: UInt64.self)
        }
    }

    init(model: UInt32, label: UInt8, fallback: Bool, probability: Double, productHash: UInt64, features: (Double, Double, Double, Double, Double)) {
        self.model = model
        self.label = label
        self.fallback = fallback
        self.probability = probability
        self.productHash = productHash
        self.features = features
    }

    init(reading buffer: UnsafeRawBufferPointer, at offset: Int) {
        func double(_ at: Int) -> Double {
            Double(bitPattern: UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + at, as: UInt64.self)))
        }
        self.model = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        self.label = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt8.self)
        self.fallback = buffer.loadUnaligned(fromByteOffset: offset + 5, as: UInt8.self) != 0
        self.probability = double(8)
        self.productHash = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self))
        self.features = (double(24), double(32), double(40), double(48), double(56))
    }

    static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// A published output as the audit reads it.
enum PublishedOutput {
    /// A prediction naming its input.
    case prediction(sourcePartition: Int32, sourceOffset: Int64, copy: OutputCopy)
    /// A shadow model's output (`"shadow": true`): not the daemon's answer, not audited here.
    case shadow
    /// Not JSON, or no `source` partition/offset: it cannot be matched to an input.
    case unreadable

    /// Parses one output record; model names are interned in `names`.
    init(json bytes: UnsafeRawBufferPointer, names: inout ModelNames) {
        guard let base = bytes.baseAddress,
            let object = try? JSONSerialization.jsonObject(with: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: bytes.count, deallocator: .none)) as? [String: Any]
        else {
            self = .unreadable
            return
        }
        if (object["shadow"] as? Bool) == true {
            self = .shadow
            return
        }
        guard let source = object["source"] as? [String: Any],
            let partition = (source["partition"] as? NSNumber)?.int32Value,
            let offset = (source["offset"] as? NSNumber)?.int64Value
        else {
            self = .unreadable
            return
        }
        let features = object["features"] as? [String: Any] ?? [:]
        func feature(_ index: Int) -> Double {
            (features[FeatureVector.names[index]] as? NSNumber)?.doubleValue ?? .infinity
        }
        let label = (object["prediction"] as? NSNumber)?.intValue
        let copy = OutputCopy(
            model: names.index(variant: object["model_variant"] as? String ?? "", version: object["model_version"] as? String ?? ""),
            // A missing or odd label can match no expected decision (0 or 1).
            label: label.flatMap { UInt8(exactly: $0) } ?? 255,
            fallback: object["fallback_reason"] != nil,
            probability: (object["probability"] as? NSNumber)?.doubleValue ?? .nan,
            productHash: (object["product_id"] as? String).map(OutputCopy.hash) ?? 0,
            features: (feature(0), feature(1), feature(2), feature(3), feature(4))
        )
        self = .prediction(sourcePartition: partition, sourceOffset: offset, copy: copy)
    }
}

/// Interned (`model_variant`, `model_version`) pairs seen in outputs. Bounded: past ``limit`` distinct names
/// every further one shares the index ``overflow`` (reported as an unknown model), so a topic full of odd
/// names cannot grow the audit's memory.
struct ModelNames {
    static let limit = 4096
    static let overflow = UInt32(limit)
    private var indices: [AuditModels.Identity: UInt32] = [:]
    private(set) var identities: [AuditModels.Identity] = []

    mutating func index(variant: String, version: String) -> UInt32 {
        let identity = AuditModels.Identity(variant: variant, version: version)
        if let index = indices[identity] { return index }
        guard identities.count < Self.limit else { return Self.overflow }
        let index = UInt32(identities.count)
        indices[identity] = index
        identities.append(identity)
        return index
    }

    func identity(_ index: UInt32) -> AuditModels.Identity? {
        Int(index) < identities.count ? identities[Int(index)] : nil
    }
}

import FeaturePipeline
import Foundation

/// Registry models on disk under `MODEL_CACHE_DIR`, one directory per model version, so a daemon can start or
/// reload from the last good download while the registry is unreachable.
///
/// Layout (names percent-encoded to stay one path component):
///
///     <root>/<name>/v<version>/model.json            the XGBoost JSON, byte for byte as in the registry
///     <root>/<name>/v<version>/model.meta.json       {"version": "<name>/<version>"} — LoadedModel's version sidecar
///     <root>/<name>/v<version>/model.reference.json  the version's `.reference.json` artifact, when it has one
///     <root>/<name>/v<version>/entry.json            ``ModelCacheEntry``: name, version, URIs, files, time
///     <root>/<name>/uris/<encoded URI>.json           {"version": N}: what an alias/stage/latest URI last resolved to
///
/// A version directory appears whole or not at all: it is written under `<root>/.tmp-<uuid>` and renamed into place.
public struct ModelCache: Sendable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    static let modelFileName = "model.json"
    static let referenceFileName = "model.reference.json"
    static let entryFileName = "entry.json"

    /// The directory of one version.
    public func versionDirectory(name: String, version: Int) -> String {
        "\(root)/\(Self.component(name))/v\(version)"
    }

    /// The cached entry `uri` last resolved to, if it is complete and its model file exists.
    public func entry(for uri: ModelURI) -> ModelCacheEntry? {
        let version: Int
        switch uri.reference {
        case .version(let fixed):
            version = fixed
        default:
            let pointer = "\(root)/\(Self.component(uri.name))/uris/\(Self.component(uri.description)).json"
            guard let data = FileManager.default.contents(atPath: pointer),
                let decoded = try? JSONDecoder().decode(URIPointer.self, from: data)
            else { return nil }
            version = decoded.version
        }
        return entry(name: uri.name, version: version)
    }

    /// The complete entry of one version, or `nil`.
    public func entry(name: String, version: Int) -> ModelCacheEntry? {
        let directory = versionDirectory(name: name, version: version)
        guard let data = FileManager.default.contents(atPath: "\(directory)/\(Self.entryFileName)"),
            var entry = try? JSONDecoder().decode(ModelCacheEntry.self, from: data),
            entry.name == name, entry.version == version
        else { return nil }
        entry.directory = directory
        guard FileManager.default.fileExists(atPath: entry.modelPath) else { return nil }
        if let reference = entry.referenceFile, !FileManager.default.fileExists(atPath: "\(directory)/\(reference)") {
            entry.referenceFile = nil
        }
        return entry
    }

    /// Writes a downloaded version: model bytes, version sidecar, optional reference file and entry, in a temporary
    /// directory that `verify` may inspect (it gets the model file's path) before the directory is renamed into
    /// place, replacing an older copy of the same version. Records that `uri` now resolves to this version.
    /// - Throws: ``RegistryError/cacheNotWritable(path:reason:)``, or what `verify` throws.
    public func store(
        uri: ModelURI,
        version: Int,
        artifactLocation: String,
        model: Data,
        reference: Data?,
        verify: (String) throws(RegistryError) -> Void
    ) throws(RegistryError) -> ModelCacheEntry {
        let fileManager = FileManager.default
        let staging = "\(root)/.tmp-\(UUID().uuidString)"
        let target = versionDirectory(name: uri.name, version: version)
        var entry = ModelCacheEntry(
            name: uri.name, version: version, uri: uri.description, artifactLocation: artifactLocation,
            modelFile: Self.modelFileName, referenceFile: reference == nil ? nil : Self.referenceFileName,
            cachedAt: Self.timestamp(Date())
        )
        do {
            try fileManager.createDirectory(atPath: staging, withIntermediateDirectories: true)
        } catch {
            throw .cacheNotWritable(path: root, reason: Self.reason(error))
        }
        defer { try? fileManager.removeItem(atPath: staging) }
        do {
            try model.write(to: URL(fileURLWithPath: "\(staging)/\(Self.modelFileName)"))
            let sidecar = try JSONEncoder().encode(["version": entry.modelVersion])
            try sidecar.write(to: URL(fileURLWithPath: LoadedModel.sidecarPath(for: "\(staging)/\(Self.modelFileName)")))
            if let reference { try reference.write(to: URL(fileURLWithPath: "\(staging)/\(Self.referenceFileName)")) }
        } catch {
            throw .cacheNotWritable(path: staging, reason: Self.reason(error))
        }
        try verify("\(staging)/\(Self.modelFileName)")
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(entry).write(to: URL(fileURLWithPath: "\(staging)/\(Self.entryFileName)"))
            try fileManager.createDirectory(atPath: "\(root)/\(Self.component(uri.name))/uris", withIntermediateDirectories: true)
            if rename(staging, target) != 0 {
                // The version is cached already (an earlier download, or another daemon sharing the directory):
                // rename(2) cannot replace a non-empty directory, so move the old copy aside and try again. If
                // another writer wins that race, its complete copy of the same registry bytes stands.
                let old = "\(root)/.old-\(UUID().uuidString)"
                if rename(target, old) == 0 { try? fileManager.removeItem(atPath: old) }
                if rename(staging, target) != 0 {
                    let reason = String(cString: strerror(errno))
                    guard self.entry(name: uri.name, version: version) != nil else {
                        throw RegistryError.cacheNotWritable(path: target, reason: reason)
                    }
                }
            }
            if uri.reference != .version(version) {
                let pointer = "\(root)/\(Self.component(uri.name))/uris/\(Self.component(uri.description)).json"
                let temporary = pointer + ".tmp-\(UUID().uuidString)"
                try JSONEncoder().encode(URIPointer(version: version)).write(to: URL(fileURLWithPath: temporary))
                if rename(temporary, pointer) != 0 {
                    try? fileManager.removeItem(atPath: temporary)
                    throw CocoaError(.fileWriteUnknown)
                }
            }
        } catch let error as RegistryError {
            throw error
        } catch {
            throw .cacheNotWritable(path: target, reason: Self.reason(error))
        }
        entry.directory = target
        return entry
    }

    private struct URIPointer: Codable {
        var version: Int
    }

    /// One path component: RFC 3986 unreserved characters kept, everything else (and a leading '.') as %XX.
    static func component(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            let keep = (byte < 0x80) && (CharacterSet.alphanumerics.contains(scalar) || "-_~".unicodeScalars.contains(scalar)
                || (scalar == "." && !out.isEmpty))
            out += keep ? String(scalar) : String(format: "%%%02X", byte)
        }
        return out.isEmpty ? "%00" : out
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static func reason(_ error: any Error) -> String {
        (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
    }
}

/// One cached model version (`entry.json`).
public struct ModelCacheEntry: Sendable, Codable, Equatable {
    /// The registered model's name.
    public var name: String
    /// Its version number.
    public var version: Int
    /// The model URI that fetched it (`models:/volatility-xgb@champion`).
    public var uri: String
    /// Where the registry kept its artifacts (`mlflow-artifacts:/…`).
    public var artifactLocation: String
    /// The model file's name inside ``directory``.
    public var modelFile: String
    /// The reference file's name inside ``directory``, when the version had a `.reference.json` artifact.
    public var referenceFile: String?
    /// When it was downloaded (RFC 3339).
    public var cachedAt: String
    /// The entry's directory (not stored: it is where the entry was found).
    public var directory: String = ""

    enum CodingKeys: String, CodingKey {
        case name, version, uri, artifactLocation = "artifact_location", modelFile = "model_file"
        case referenceFile = "reference_file", cachedAt = "cached_at"
    }

    /// The version as outputs report it: `volatility-xgb/3`.
    public var modelVersion: String { "\(name)/\(version)" }
    /// The model file's full path.
    public var modelPath: String { "\(directory)/\(modelFile)" }
    /// The reference file's full path, when there is one.
    public var referencePath: String? { referenceFile.map { "\(directory)/\($0)" } }
}

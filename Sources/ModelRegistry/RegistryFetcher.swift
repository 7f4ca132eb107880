import FeaturePipeline
import Foundation

/// Downloads one model version from the registry into the cache: resolve the URI, locate the artifacts, pick the
/// XGBoost JSON file (the `MLmodel` file's xgboost flavour, else the single `.json` artifact), verify that it
/// loads, and store it with its version.
struct RegistryFetcher: Sendable {
    let client: MLflowClient
    let cache: ModelCache

    func fetch(_ uri: ModelURI) async throws(RegistryError) -> ModelCacheEntry {
        let version = try await client.modelVersion(for: uri)
        guard let number = version.number else {
            throw .invalidResponse(url: client.http.displayBase, reason: "version '\(version.version)' is not a number")
        }
        let location = try await client.artifactLocation(of: version)
        let root = try MLflowClient.proxyPath(of: location)
        let files = try await client.listFiles(in: root)
        let modelFile = try await self.modelFile(in: root, files: files, location: location)
        let model = try await client.download(Self.join(root, modelFile))
        let reference = try await self.reference(in: root, files: files, modelFile: modelFile)
        let versionText = "\(uri.name)/\(number)"
        return try cache.store(
            uri: uri, version: number, artifactLocation: location, model: model, reference: reference
        ) { path throws(RegistryError) in
            let loaded: LoadedModel
            do throws(ModelLoadError) {
                loaded = try LoadedModel.load(variant: .ml, modelPath: path, baselinePath: "")
            } catch {
                throw .modelDoesNotLoad(version: versionText, error: Self.withoutStagingPath(error, file: modelFile))
            }
            guard loaded.version == versionText else {
                throw .cacheNotWritable(path: path, reason: "version sidecar reads '\(loaded.version)', expected '\(versionText)'")
            }
        }
    }

    /// The model file's path relative to the artifact root.
    private func modelFile(in root: String, files: [ArtifactFile], location: String) async throws(RegistryError) -> String {
        var flavors: [String] = []
        if files.contains(where: { $0.name == "MLmodel" }) {
            let path = Self.join(root, "MLmodel")
            let data = try await client.download(path)
            let mlmodel = try MLmodelFile(yaml: String(decoding: data, as: UTF8.self), path: location + "/MLmodel")
            if let data = mlmodel.xgboostData { return data }
            flavors = mlmodel.flavors
        }
        let candidates = files.map(\.name).filter {
            $0.hasSuffix(".json") && !$0.hasSuffix(".reference.json") && !$0.hasSuffix(".meta.json")
        }
        guard candidates.count == 1, let only = candidates.first else {
            let flavourNote = flavors.isEmpty ? "no MLmodel file with an xgboost flavour" : "MLmodel has no xgboost flavour (flavours: \(flavors.joined(separator: ", ")))"
            let found = candidates.isEmpty ? "no .json artifact" : "\(candidates.count) .json artifacts (\(candidates.sorted().joined(separator: ", ")))"
            throw .noModelFile(location: location, reason: "\(flavourNote) and \(found); log the model with mlflow.xgboost (model_format='json') or as one .json file")
        }
        return only
    }

    /// The version's `.reference.json` artifact: `<model>.reference.json` beside the model file, else the only
    /// `*.reference.json` at the artifact root; `nil` when there is none.
    private func reference(in root: String, files: [ArtifactFile], modelFile: String) async throws(RegistryError) -> Data? {
        let sibling = modelFile.hasSuffix(".json") ? String(modelFile.dropLast(5)) + ".reference.json" : modelFile + ".reference.json"
        let names = Set(files.map(\.name))
        if !sibling.contains("/"), names.contains(sibling) {
            return try await client.download(Self.join(root, sibling))
        }
        let references = names.filter { $0.hasSuffix(".reference.json") }
        guard references.count == 1, let only = references.first else { return nil }
        return try await client.download(Self.join(root, only))
    }

    static func join(_ root: String, _ name: String) -> String {
        root.isEmpty ? name : root + "/" + name
    }

    /// Load errors name the artifact, not the temporary staging file.
    static func withoutStagingPath(_ error: ModelLoadError, file: String) -> ModelLoadError {
        switch error {
        case .invalidJSON(_, let reason): return .invalidJSON(path: file, reason: reason)
        case .unreadableFile(_, let reason): return .unreadableFile(path: file, reason: reason)
        default: return error
        }
    }
}

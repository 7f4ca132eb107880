import Foundation

/// The MLflow REST calls the registry needs: resolve a ``ModelURI`` to a model version, find where its artifacts
/// are, list and download them through the tracking server's artifact proxy (`/api/2.0/mlflow-artifacts/…`).
public struct MLflowClient: Sendable {
    let http: MLflowHTTP

    public init(trackingURI: URL, auth: RegistryAuth, limits: RegistryLimits = RegistryLimits()) {
        http = MLflowHTTP(base: trackingURI, auth: auth, limits: limits)
    }

    /// Ends the underlying session.
    public func close() {
        http.close()
    }

    /// The version `uri` names now: `model-versions/get` for a number, `registered-models/alias` for an alias,
    /// `registered-models/get-latest-versions` for a stage or `latest` (the highest version it returns).
    public func modelVersion(for uri: ModelURI) async throws(RegistryError) -> MLflowModelVersion {
        let version: MLflowModelVersion
        switch uri.reference {
        case .version(let number):
            let data = try await http.get("/api/2.0/mlflow/model-versions/get", query: [("name", uri.name), ("version", String(number))])
            version = try decode(ModelVersionResponse.self, data, from: "model-versions/get").model_version
        case .alias(let alias):
            let data = try await http.get("/api/2.0/mlflow/registered-models/alias", query: [("name", uri.name), ("alias", alias)])
            version = try decode(ModelVersionResponse.self, data, from: "registered-models/alias").model_version
        case .stage, .latest:
            var body: [String: [String]] = [:]
            var stageName = "any"
            if case .stage(let stage) = uri.reference {
                body["stages"] = [stage.rawValue]
                stageName = stage.rawValue
            }
            let request = LatestVersionsRequest(name: uri.name, stages: body["stages"])
            let json = (try? JSONEncoder().encode(request)) ?? Data()
            let data = try await http.post("/api/2.0/mlflow/registered-models/get-latest-versions", json: json)
            let versions = try decode(LatestVersionsResponse.self, data, from: "registered-models/get-latest-versions").model_versions ?? []
            guard let newest = versions.max(by: { ($0.number ?? 0) < ($1.number ?? 0) }) else {
                throw .noVersionInStage(model: uri.name, stage: stageName)
            }
            version = newest
        }
        guard version.number != nil else {
            throw .invalidResponse(url: http.displayBase, reason: "model version '\(version.version)' of '\(version.name)' is not a number")
        }
        if let status = version.status, status != "READY" {
            throw .versionNotReady(version: "\(version.name)/\(version.version)", status: status)
        }
        return version
    }

    /// Where the version's artifacts are, as the server reports it (`model-versions/get-download-uri`; for an
    /// MLflow 3 version whose source is `models:/m-…` this is the logged model's artifact location).
    public func artifactLocation(of version: MLflowModelVersion) async throws(RegistryError) -> String {
        let data = try await http.get(
            "/api/2.0/mlflow/model-versions/get-download-uri",
            query: [("name", version.name), ("version", version.version)]
        )
        let uri = try decode(DownloadURIResponse.self, data, from: "model-versions/get-download-uri").artifact_uri
        guard let uri, !uri.isEmpty else {
            throw .invalidResponse(url: http.displayBase, reason: "get-download-uri returned no artifact_uri for \(version.name)/\(version.version)")
        }
        return uri
    }

    /// The artifact proxy path for an artifact location: `mlflow-artifacts:/1/abc/artifacts/model` and
    /// `mlflow-artifacts://host:port/1/abc/…` → `1/abc/artifacts/model`; an `http(s)` address of a server's
    /// `/api/2.0/mlflow-artifacts/artifacts/` proxy → the part after it. Anything else (`file:`, `s3:`, a bare path)
    /// is not reachable over HTTP.
    public static func proxyPath(of location: String) throws(RegistryError) -> String {
        let prefix = "/api/2.0/mlflow-artifacts/artifacts"
        guard let components = URLComponents(string: location), let scheme = components.scheme?.lowercased() else {
            throw .unsupportedArtifactLocation(location)
        }
        var path: String
        switch scheme {
        case "mlflow-artifacts":
            path = components.percentEncodedPath
        case "http", "https":
            guard let range = components.percentEncodedPath.range(of: prefix) else { throw .unsupportedArtifactLocation(location) }
            path = String(components.percentEncodedPath[range.upperBound...])
        default:
            throw .unsupportedArtifactLocation(location)
        }
        path = path.removingPercentEncoding ?? path
        let parts = path.split(separator: "/").filter { $0 != "." }
        guard !parts.contains("..") else { throw .unsupportedArtifactLocation(location) }
        return parts.joined(separator: "/")
    }

    /// The files (not directories) directly in `directory` (a proxy path), by name.
    public func listFiles(in directory: String) async throws(RegistryError) -> [ArtifactFile] {
        let data = try await http.get("/api/2.0/mlflow-artifacts/artifacts", query: [("path", directory)])
        let files = try decode(ListArtifactsResponse.self, data, from: "mlflow-artifacts/artifacts?path=").files ?? []
        guard files.count <= http.limits.maxArtifacts else {
            throw .noModelFile(location: directory, reason: "more than \(http.limits.maxArtifacts) artifacts")
        }
        return files.compactMap { file in
            guard file.is_dir != true else { return nil }
            // The proxy lists base names; other servers give paths relative to the root.
            let name = file.path.split(separator: "/").last.map(String.init) ?? file.path
            return ArtifactFile(name: name, size: file.file_size?.value)
        }
    }

    /// The bytes of one artifact (a proxy path).
    public func download(_ path: String) async throws(RegistryError) -> Data {
        try await http.get("/api/2.0/mlflow-artifacts/artifacts/" + MLflowHTTP.encodePath(path))
    }

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data, from endpoint: String) throws(RegistryError) -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw .invalidResponse(url: http.displayBase + " (\(endpoint))", reason: "cannot decode: \(error)")
        }
    }
}

/// A model version as MLflow's REST API returns it (the fields this client uses).
public struct MLflowModelVersion: Sendable, Decodable, Equatable {
    public var name: String
    /// The version number as text (MLflow sends `"3"`).
    public var version: String
    public var source: String?
    public var current_stage: String?
    public var status: String?
    public var run_id: String?

    /// ``version`` as a number, or `nil` when it is not one.
    public var number: Int? { Int(version) }
}

/// One file in an artifact directory.
public struct ArtifactFile: Sendable, Equatable {
    public var name: String
    public var size: Int?
}

private struct ModelVersionResponse: Decodable {
    var model_version: MLflowModelVersion
}

private struct LatestVersionsRequest: Encodable {
    var name: String
    var stages: [String]?
}

private struct LatestVersionsResponse: Decodable {
    var model_versions: [MLflowModelVersion]?
}

private struct DownloadURIResponse: Decodable {
    var artifact_uri: String?
}

private struct ListArtifactsResponse: Decodable {
    struct File: Decodable {
        var path: String
        var is_dir: Bool?
        var file_size: FlexibleInt?
    }
    var files: [File]?
}

/// Protobuf's JSON mapping writes int64 as a string; some servers write a number.
private struct FlexibleInt: Decodable {
    var value: Int?

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int.self) {
            value = number
        } else {
            value = Int(try container.decode(String.self))
        }
    }
}

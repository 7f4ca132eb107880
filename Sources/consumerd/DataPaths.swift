import Foundation

/// Where the daemon finds its bundled data files (models, demo ticks) when no variable names them.
///
/// Search order: the explicit variable (used as given, even if missing: its error names the variable), then the
/// path relative to the working directory (a checkout, as `scripts/run` starts it), then the same file under the
/// package's data directory `/usr/share/consumerd/` (installed by `scripts/package`), so an installed daemon
/// works from any directory. When neither default exists, the working-directory path is returned so that the
/// start-up error names the same path as before.
struct DataPaths: Sendable {
    /// The installed package's data directory.
    static let installedDataDirectory = "/usr/share/consumerd"

    /// Directories searched, in order, for a relative default path.
    var searchDirectories: [String]
    /// Whether a file exists (injected so tests need not touch `/usr/share`).
    var fileExists: @Sendable (String) -> Bool

    init(
        searchDirectories: [String] = ["", DataPaths.installedDataDirectory],
        fileExists: @escaping @Sendable (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
    ) {
        self.searchDirectories = searchDirectories
        self.fileExists = fileExists
    }

    /// The path for a data file: `explicit` when set, else the first existing `defaultRelativePath` in
    /// ``searchDirectories`` (the empty directory being the working directory), else `defaultRelativePath`.
    ///
    /// The installed layout drops the checkout's `config/` prefix: `config/models/baseline.json` is
    /// `/usr/share/consumerd/models/baseline.json`.
    func resolve(explicit: String?, defaultRelativePath: String) -> String {
        if let explicit { return explicit }
        for directory in searchDirectories {
            let candidate: String
            if directory.isEmpty {
                candidate = defaultRelativePath
            } else {
                let relative = defaultRelativePath.hasPrefix("config/")
                    ? String(defaultRelativePath.dropFirst("config/".count)) : defaultRelativePath
                candidate = directory + "/" + relative
            }
            if fileExists(candidate) { return candidate }
        }
        return defaultRelativePath
    }
}

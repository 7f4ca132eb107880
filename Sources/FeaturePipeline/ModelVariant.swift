/// Which model the daemon scores with: the XGBoost model or the z-score baseline (the rollback target).
public enum ModelVariant: String, Sendable, CaseIterable {
    /// The XGBoost gradient-boosted tree model.
    case ml
    /// The z-score rule on `midprice_return_std`.
    case baseline

    /// Parses a variant name case-insensitively (surrounding whitespace ignored).
    ///
    /// - Throws: ``ModelLoadError/unknownVariant(_:)``, whose message lists the valid values `ml` and
    ///   `baseline`.
    public init(parsing text: String) throws(ModelLoadError) {
        let normalized = text.trimmingASCIIWhitespace().lowercased()
        guard let variant = ModelVariant(rawValue: normalized) else { throw .unknownVariant(text) }
        self = variant
    }
}

extension String {
    fileprivate func trimmingASCIIWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = self.firstIndex(where: { !isSpace($0) }),
            let last = self.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return self[first...last]
    }
}

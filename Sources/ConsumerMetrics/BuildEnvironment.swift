//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
//===----------------------------------------------------------------------===//

/// Facts about the build, for `volatility_consumer_build_info`.
public enum BuildEnvironment {
    /// The Swift compiler's major.minor version this module was built with (e.g. "6.3").
    public static let swiftVersion: String = {
        #if compiler(>=7.0)
        return "7.0+"
        #elseif compiler(>=6.4)
        return "6.4"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }()
}

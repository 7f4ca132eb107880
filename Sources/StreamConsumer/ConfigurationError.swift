/// A setting that stops the daemon at start-up, named by the environment variable an operator has to fix.
///
/// Every case renders as one line (see ``description``) so that a misconfigured deployment fails with a message
/// that says which variable is wrong and why, never with a crash trace.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The environment variable (or setting) that holds the bad value, e.g. `MODEL_VARIANT`.
    public var variable: String
    /// What is wrong and what would be accepted.
    public var reason: String

    public init(variable: String, reason: String) {
        self.variable = variable
        self.reason = reason
    }

    public var description: String { "\(variable): \(reason)" }
}

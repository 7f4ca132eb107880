import ArgumentParser
import Foundation

/// Stops start-up with one line on standard error and exit code 2 (a configuration problem, not a crash).
func exitForStartupFailure(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("consumerd: startup error: \(message)\n".utf8))
    return ExitCode(2)
}

/// Writes one line to standard output right away (for `BOOTSTRAP=` lines that scripts and tests wait for).
func printLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

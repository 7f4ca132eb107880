/// The environment-variable table of `--help` and `consumerd help run`, laid out for an 80-column terminal:
/// the name and default on one line, the meaning wrapped and indented under it, so ArgumentParser (which wraps
/// discussion text to the terminal width) finds no line to re-wrap.
enum HelpText {
    static let width = 78

    static func variables(intro: String) -> String {
        var lines = [intro, ""]
        for variable in DaemonConfiguration.documentedVariables {
            lines.append(contentsOf: wrap("\(variable.name)  [default: \(variable.defaultValue)]", indent: 2, hanging: 6))
            lines.append(contentsOf: wrap(variable.meaning, indent: 6, hanging: 6))
        }
        lines.append("")
        lines.append(contentsOf: wrap(
            "Invalid configuration stops the daemon with one line naming the variable and exit code 2. "
                + "`consumerd config` prints the effective configuration and where each value came from; "
                + "`consumerd check` also asks the brokers.", indent: 0, hanging: 0))
        return lines.joined(separator: "\n")
    }

    /// Greedy word wrap to ``width`` columns: the first line indented by `indent`, the rest by `hanging`. A word
    /// longer than the line stays whole on its own line.
    static func wrap(_ text: String, indent: Int, hanging: Int) -> [String] {
        var lines: [String] = []
        var current = String(repeating: " ", count: indent)
        var currentHasWord = false
        for word in text.split(separator: " ") {
            if currentHasWord && current.count + 1 + word.count > width {
                lines.append(current)
                current = String(repeating: " ", count: hanging)
                currentHasWord = false
            }
            current += (currentHasWord ? " " : "") + word
            currentHasWord = true
        }
        if currentHasWord { lines.append(current) }
        return lines
    }
}

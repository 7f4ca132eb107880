import Foundation

/// Names the calling thread as the kernel sees it (`top -H`, `/proc/PID/task/*/comm`, profilers), cut to 15
/// characters. Foundation's `Thread.name` does not reach the kernel on Linux, and Glibc's module does not export
/// `pthread_setname_np`; writing `/proc/thread-self/comm` does the same. Best effort: a failure changes nothing
/// else (the thread keeps the name it inherited from the thread that started it).
public enum ThreadNaming {
    public static func nameCurrentThread(_ name: String) {
        try? String(name.prefix(15)).write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
    }
}

import Glibc

/// The two clocks a link step reads: the wall clock, to compare with `wait_until` and with files'
/// modification times, and the monotonic clock, to measure how long a file stayed unchanged
/// without being fooled by a clock step (NTP, an operator's `date -s`).
enum Now {
    /// Seconds since the epoch.
    static var wall: Double { read(CLOCK_REALTIME) }
    /// Seconds since some fixed moment in the past.
    static var monotonic: Double { read(CLOCK_MONOTONIC) }

    private static func read(_ clock: clockid_t) -> Double {
        var time = timespec()
        clock_gettime(clock, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

// The child of the benchmarks' schedule-latency scenario: the first thing it does is read the
// wall clock, then it appends "SLOT EXEC_NS" to a file, so the figure is "slot instant to the
// step's exec" plus only this program's own start-up (dynamic loading of libc, ~0.1-0.3 ms).
//   renkei-bench-stamp SLOT_EPOCH_SECONDS FILE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (argc != 3) {
        fprintf(stderr, "usage: renkei-bench-stamp SLOT_EPOCH_SECONDS FILE\n");
        return 2;
    }
    char line[96];
    int length = snprintf(line, sizeof line, "%s %lld\n", argv[1], (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
    int file = open(argv[2], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (file < 0 || write(file, line, (size_t)length) != length) {
        perror(argv[2]);
        return 1;
    }
    return close(file) == 0 ? 0 : 1;
}

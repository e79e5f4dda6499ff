/* Sets 1,000 variables, then calls setenv on them round-robin a million
 * times (values from a small set, so libc reuses its strings). Prints the
 * growth of the resident set in KiB. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static long rss_kib(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2) return -1;
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : 1000000;
    char name[32];
    const char *values[] = {"alpha", "beta", "gamma", "delta"};
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "MANY_%d", i);
        setenv(name, values[i % 4], 1);
    }
    long before = rss_kib();
    for (long n = 0; n < rounds; n++) {
        snprintf(name, sizeof name, "MANY_%ld", n % 1000);
        setenv(name, values[(n / 1000) % 4], 1);
    }
    printf("%ld\n", rss_kib() - before);
    return 0;
}

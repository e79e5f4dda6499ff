/* vfork + execve("/bin/true", environ) RUNS times (after 20 for warm-up) and
 * prints how much the resident set grew meanwhile: `rss_growth_kib N`.
 * A vfork child shares the parent's memory: whatever it maps and does not
 * unmap before its exec stays in the parent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static long rss_kib(void) {
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kib = atol(line + 6);
    fclose(f);
    return kib;
}

static void once(void) {
    char *args[] = {"true", NULL};
    pid_t pid = vfork();
    if (pid == 0) {
        execve("/bin/true", args, environ);
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "vfork_exec_rss: a child failed (status %d)\n", status);
        exit(1);
    }
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 500;
    for (int i = 0; i < 20; i++) once();
    long before = rss_kib();
    for (int i = 0; i < runs; i++) once();
    printf("rss_growth_kib %ld\n", rss_kib() - before);
    return 0;
}

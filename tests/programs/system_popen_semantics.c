/* What system(), popen() and pclose() do with signal dispositions and errno,
 * printed so that a run without the library and a run with it can be compared
 * line for line. One mode per run:
 *
 *   concurrent DISP   SIGINT/SIGQUIT set to DISP (dfl, ign or handler), then
 *                     20 rounds of two threads whose system("sleep 0.2") calls
 *                     overlap; the dispositions afterwards.
 *   child DISP        the SIGINT/SIGQUIT dispositions a system() child starts
 *                     with, alone and while another system() is in flight.
 *   report LABEL      (the child of "child") prints its own dispositions.
 *   emfile            popen/system with the descriptor limit exhausted.
 *   sigchld-ignored   system/popen/pclose with SIGCHLD set to SIG_IGN.
 *   errno-kept        errno across successful system/popen/pclose.
 *   spawn-fails       system/popen of a command too long to exec (E2BIG).
 *   modes             popen's mode strings.
 *   many-streams      more popen streams open at once than the library keeps.
 *   flush-fails       pclose of a "w" stream whose reader is gone (EPIPE).
 *   low-fds           with stdout closed, a popen stream lands on descriptor 1;
 *                     a second popen's child still gets its own stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SENTINEL 12345

static void handler(int signal) { (void)signal; }

/* errno as "12345" or "EMFILE". */
static const char *errno_name(int value) {
    static char buffer[4][32];
    static int next;
    const char *name = value ? strerrorname_np(value) : "0";
    if (name) return name;
    char *out = buffer[next++ % 4];
    snprintf(out, sizeof buffer[0], "%d", value);
    return out;
}

static const char *describe(int signal) {
    struct sigaction sa;
    if (sigaction(signal, NULL, &sa) != 0) return "error";
    if (sa.sa_handler == SIG_DFL) return "dfl";
    if (sa.sa_handler == SIG_IGN) return "ign";
    if (sa.sa_handler == handler) return (sa.sa_flags & SA_RESTART) ? "handler+restart" : "handler";
    return "other";
}

static int set_disposition(const char *name) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    if (!strcmp(name, "dfl")) sa.sa_handler = SIG_DFL;
    else if (!strcmp(name, "ign")) sa.sa_handler = SIG_IGN;
    else if (!strcmp(name, "handler")) {
        sa.sa_handler = handler;
        sa.sa_flags = SA_RESTART;
    } else return -1;
    return sigaction(SIGINT, &sa, NULL) | sigaction(SIGQUIT, &sa, NULL);
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {}
}

struct job {
    const char *command;
    long delay_ms;
    int status;
};

static void *run_job(void *arg) {
    struct job *job = arg;
    if (job->delay_ms) sleep_ms(job->delay_ms);
    job->status = system(job->command);
    return NULL;
}

static int concurrent(void) {
    char before_int[32], before_quit[32];
    snprintf(before_int, sizeof before_int, "%s", describe(SIGINT));
    snprintf(before_quit, sizeof before_quit, "%s", describe(SIGQUIT));
    int changed = 0, failed = 0;
    for (int round = 0; round < 20; round++) {
        /* The second to start is the last to finish; which thread that is alternates. */
        struct job a = {"sleep 0.2", round % 2 ? 50 : 0, -1};
        struct job b = {"sleep 0.2", round % 2 ? 0 : 50, -1};
        pthread_t ta, tb;
        if (pthread_create(&ta, NULL, run_job, &a) || pthread_create(&tb, NULL, run_job, &b)) return 1;
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        failed += (a.status != 0) + (b.status != 0);
        changed += strcmp(describe(SIGINT), before_int) != 0 || strcmp(describe(SIGQUIT), before_quit) != 0;
    }
    printf("before: SIGINT=%s SIGQUIT=%s\n", before_int, before_quit);
    printf("after: SIGINT=%s SIGQUIT=%s\n", describe(SIGINT), describe(SIGQUIT));
    printf("rounds that changed a disposition: %d of 20; failed system calls: %d\n", changed, failed);
    return 0;
}

static int child(void) {
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 1;
    self[n] = 0;
    char command[4200];
    snprintf(command, sizeof command, "'%s' report alone", self);
    fflush(stdout);
    int status = system(command);
    printf("status %d\n", WEXITSTATUS(status));

    struct job sleeper = {"sleep 0.5", 0, -1};
    pthread_t thread;
    if (pthread_create(&thread, NULL, run_job, &sleeper)) return 1;
    /* Wait until the other call has replaced the dispositions (when they were not
     * ignored already): the next call starts while that one is in flight. */
    if (strcmp(describe(SIGINT), "ign") != 0) {
        for (int i = 0; i < 5000 && strcmp(describe(SIGINT), "ign") != 0; i++) sleep_ms(1);
    } else {
        sleep_ms(100);
    }
    snprintf(command, sizeof command, "'%s' report overlapping", self);
    fflush(stdout);
    status = system(command);
    printf("status %d\n", WEXITSTATUS(status));
    pthread_join(thread, NULL);
    printf("sleeper status %d\n", sleeper.status);
    printf("after: SIGINT=%s SIGQUIT=%s\n", describe(SIGINT), describe(SIGQUIT));
    return 0;
}

static int emfile(void) {
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = 64;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return 1;
    int fds[64], count = 0;
    for (;;) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            printf("open stops with %s\n", errno_name(errno));
            break;
        }
        fds[count++] = fd;
    }
    for (int free_fds = 0; free_fds <= 2; free_fds++) {
        if (free_fds) close(fds[--count]);
        errno = SENTINEL;
        FILE *stream = popen("echo hi", "r");
        int e = errno;
        printf("%d free: popen %s errno %s", free_fds, stream ? "stream" : "NULL", errno_name(e));
        if (stream) {
            char line[64] = "";
            if (!fgets(line, sizeof line, stream)) strcpy(line, "(nothing)\n");
            errno = SENTINEL;
            int status = pclose(stream);
            e = errno;
            printf(", read %.*s, pclose %d errno %s", (int)strcspn(line, "\n"), line, status, errno_name(e));
        }
        errno = SENTINEL;
        int status = system("exit 3");
        e = errno;
        printf("; system %#x errno %s\n", (unsigned)status, errno_name(e));
    }
    return 0;
}

static int sigchld_ignored(void) {
    signal(SIGCHLD, SIG_IGN);
    errno = SENTINEL;
    int status = system("true");
    int e = errno;
    printf("system: %d errno %s\n", status, errno_name(e));
    errno = SENTINEL;
    status = system("exit 5");
    e = errno;
    printf("system exit 5: %d errno %s\n", status, errno_name(e));

    errno = SENTINEL;
    FILE *stream = popen("echo hi", "r");
    e = errno;
    printf("popen r: %s errno %s\n", stream ? "stream" : "NULL", errno_name(e));
    if (!stream) return 1;
    char line[64] = "";
    if (!fgets(line, sizeof line, stream)) strcpy(line, "(nothing)\n");
    printf("read: %s", line);
    errno = SENTINEL;
    status = pclose(stream);
    e = errno;
    printf("pclose r: %d errno %s\n", status, errno_name(e));

    stream = popen("cat > /dev/null", "w");
    if (!stream) return 1;
    fputs("data\n", stream);
    errno = SENTINEL;
    status = pclose(stream);
    e = errno;
    printf("pclose w: %d errno %s\n", status, errno_name(e));
    return 0;
}

static int errno_kept(void) {
    errno = SENTINEL;
    int status = system("exit 7");
    int e = errno;
    printf("system exit 7: exit %d errno %s\n", WEXITSTATUS(status), errno_name(e));
    errno = SENTINEL;
    status = system(NULL);
    e = errno;
    printf("system NULL: %d errno %s\n", status, errno_name(e));

    errno = SENTINEL;
    FILE *stream = popen("echo hi; exit 4", "r");
    e = errno;
    printf("popen r: %s errno %s\n", stream ? "stream" : "NULL", errno_name(e));
    if (!stream) return 1;
    char line[64] = "";
    if (!fgets(line, sizeof line, stream)) strcpy(line, "(nothing)\n");
    printf("read: %s", line);
    errno = SENTINEL;
    status = pclose(stream);
    e = errno;
    printf("pclose r: exit %d errno %s\n", WEXITSTATUS(status), errno_name(e));

    errno = SENTINEL;
    stream = popen("cat > /dev/null; exit 6", "we");
    e = errno;
    printf("popen we: %s errno %s\n", stream ? "stream" : "NULL", errno_name(e));
    if (!stream) return 1;
    fputs("data\n", stream);
    errno = SENTINEL;
    status = pclose(stream);
    e = errno;
    printf("pclose w: exit %d errno %s\n", WEXITSTATUS(status), errno_name(e));
    return 0;
}

static int spawn_fails(void) {
    /* One argument longer than the kernel takes (MAX_ARG_STRLEN, 128 KiB). */
    size_t length = 200 * 1024;
    char *command = malloc(length + 1);
    if (!command) return 1;
    memset(command, 'x', length);
    memcpy(command, "true ", 5);
    command[length] = 0;
    errno = SENTINEL;
    int status = system(command);
    int e = errno;
    printf("system: %#x errno %s\n", (unsigned)status, errno_name(e));
    errno = SENTINEL;
    FILE *stream = popen(command, "r");
    e = errno;
    printf("popen: %s errno %s\n", stream ? "stream" : "NULL", errno_name(e));
    if (stream) pclose(stream);
    free(command);
    return 0;
}

static int modes(void) {
    const char *list[] = {"r", "w", "re", "er", "we", "ew", "rw", "wr", "", "x", "rx", "r+", "rb", "ree"};
    for (size_t i = 0; i < sizeof list / sizeof *list; i++) {
        errno = SENTINEL;
        FILE *stream = popen("true", list[i]);
        int e = errno;
        printf("mode \"%s\": %s errno %s\n", list[i], stream ? "stream" : "NULL", errno_name(e));
        if (stream) pclose(stream);
    }
    return 0;
}

static int many_streams(void) {
    enum { MANY = 80 };
    FILE *streams[MANY];
    int opened = 0, errno_changed = 0;
    for (int i = 0; i < MANY; i++) {
        errno = SENTINEL;
        streams[i] = popen("echo one", "r");
        opened += streams[i] != NULL;
        errno_changed += errno != SENTINEL;
    }
    printf("popen: %d of %d opened, errno changed %d times\n", opened, MANY, errno_changed);
    int read_ok = 0, closed_ok = 0;
    errno_changed = 0;
    for (int i = MANY - 1; i >= 0; i--) {
        if (!streams[i]) continue;
        char line[16] = "";
        read_ok += fgets(line, sizeof line, streams[i]) && !strcmp(line, "one\n");
        errno = SENTINEL;
        closed_ok += pclose(streams[i]) == 0;
        errno_changed += errno != SENTINEL;
    }
    printf("read %d, pclose: %d returned 0, errno changed %d times\n", read_ok, closed_ok, errno_changed);
    return 0;
}

static int flush_fails(void) {
    signal(SIGPIPE, SIG_IGN);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    for (int code = 0; code <= 3; code += 3) {
        /* The shell closes the only read end of the pipe, then says so. */
        char command[64];
        snprintf(command, sizeof command, "exec 0<&-; kill -USR1 $PPID; exit %d", code);
        FILE *stream = popen(command, "w");
        if (!stream) return 1;
        int signal;
        sigwait(&usr1, &signal);
        fputs("data\n", stream); /* buffered: written by pclose's flush */
        errno = SENTINEL;
        int status = pclose(stream);
        int e = errno;
        printf("exit %d: pclose %#x errno %s\n", code, (unsigned)status, errno_name(e));
    }
    return 0;
}

static int low_fds(void) {
    int saved = dup(1);
    if (saved < 0) return 1;
    close(1);
    FILE *first = popen("echo first", "r"); /* its descriptor is 1, the lowest free */
    int first_fd = first ? fileno(first) : -1;
    FILE *second = popen("echo second", "r");
    char a[32] = "(nothing)\n", b[32] = "(nothing)\n";
    if (second && !fgets(b, sizeof b, second)) strcpy(b, "(nothing)\n");
    if (first && !fgets(a, sizeof a, first)) strcpy(a, "(nothing)\n");
    int second_status = second ? pclose(second) : -2;
    int first_status = first ? pclose(first) : -2;
    dup2(saved, 1);
    close(saved);
    printf("first on fd %d read %s", first_fd, a);
    printf("second read %s", b);
    printf("pclose %#x %#x\n", (unsigned)first_status, (unsigned)second_status);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) return 2;
    const char *mode = argv[1];
    if (!strcmp(mode, "report") && argc > 2) {
        printf("%s: child SIGINT=%s SIGQUIT=%s\n", argv[2], describe(SIGINT), describe(SIGQUIT));
        return 0;
    }
    if ((!strcmp(mode, "concurrent") || !strcmp(mode, "child")) && argc > 2) {
        if (set_disposition(argv[2]) != 0) return 2;
        return !strcmp(mode, "concurrent") ? concurrent() : child();
    }
    if (!strcmp(mode, "emfile")) return emfile();
    if (!strcmp(mode, "sigchld-ignored")) return sigchld_ignored();
    if (!strcmp(mode, "errno-kept")) return errno_kept();
    if (!strcmp(mode, "spawn-fails")) return spawn_fails();
    if (!strcmp(mode, "modes")) return modes();
    if (!strcmp(mode, "many-streams")) return many_streams();
    if (!strcmp(mode, "flush-fails")) return flush_fails();
    if (!strcmp(mode, "low-fds")) return low_fds();
    return 2;
}

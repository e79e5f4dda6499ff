/* One thread loops: vfork; the child publishes getpid() in a global and
 * execve's /bin/true with environ (large: the test gives this program
 * 20,000 variables). A watcher thread SIGKILLs each child after a random
 * delay of up to DELAY_US microseconds, so some die inside the exec path;
 * another thread loops setenv, so some die waiting for a lock. After
 * ITERATIONS children (or SECONDS, or as soon as the setenv thread stops
 * making progress), the main thread calls setenv under alarm(10).
 *
 * Prints `killed K of N children`, `setenv thread stuck` if it stopped
 * making progress, then `final setenv returned` and exits 0 — or
 * `final setenv hung` and exits 3.
 *
 * usage: vfork_kill_during_exec ITERATIONS DELAY_US SECONDS */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Per child: the main thread bumps `generation` (after clearing `published`),
 * the child publishes its pid, the watcher kills it and sets `handled` to the
 * generation; only then is the child reaped (so its pid cannot be reused
 * before the kill). */
static long generation, handled;
static pid_t published;
static volatile int stop;
static volatile long setenv_calls;
static long delay_ns;

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void *watcher(void *arg) {
    (void)arg;
    unsigned seed = 12345;
    long last = 0;
    while (!stop) {
        long g = __atomic_load_n(&generation, __ATOMIC_SEQ_CST);
        pid_t p = __atomic_load_n(&published, __ATOMIC_SEQ_CST);
        if (p <= 0 || g == last) {
            sched_yield();
            continue;
        }
        last = g;
        long until = now_ns() + (delay_ns > 0 ? (long)(rand_r(&seed) % (unsigned)delay_ns) : 0);
        while (now_ns() < until) {
        }
        kill(p, SIGKILL); /* p is not reaped before `handled` says so */
        __atomic_store_n(&handled, g, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void *churn(void *arg) {
    (void)arg;
    char value[32];
    for (long i = 0; !stop; i++) {
        snprintf(value, sizeof value, "%ld", i % 7);
        setenv("CONTENDED", value, 1);
        setenv_calls = i + 1;
    }
    return NULL;
}

static void on_alarm(int sig) {
    (void)sig;
    static const char message[] = "final setenv hung\n";
    if (write(1, message, sizeof message - 1) < 0) _exit(4);
    _exit(3);
}

int main(int argc, char **argv) {
    long iterations = argc > 1 ? atol(argv[1]) : 1000;
    delay_ns = (argc > 2 ? atol(argv[2]) : 1000) * 1000L;
    long seconds = argc > 3 ? atol(argv[3]) : 10;
    setvbuf(stdout, NULL, _IONBF, 0);
    pthread_t w, c;
    pthread_create(&w, NULL, watcher, NULL);
    pthread_create(&c, NULL, churn, NULL);
    long killed = 0, n = 0, start = now_ns();
    long progress_at = start, progress_seen = 0;
    int stuck = 0;
    char *args[] = {"true", NULL};
    for (; n < iterations; n++) {
        long t = now_ns();
        if (t - start > seconds * 1000000000L) break;
        if (setenv_calls != progress_seen) {
            progress_seen = setenv_calls;
            progress_at = t;
        } else if (t - progress_at > 1000000000L) {
            stuck = 1;
            break;
        }
        __atomic_store_n(&published, 0, __ATOMIC_SEQ_CST);
        long g = __atomic_add_fetch(&generation, 1, __ATOMIC_SEQ_CST);
        pid_t pid = vfork();
        if (pid == 0) {
            __atomic_store_n(&published, getpid(), __ATOMIC_SEQ_CST);
            execve("/bin/true", args, environ);
            _exit(127);
        }
        if (pid < 0) break;
        while (__atomic_load_n(&handled, __ATOMIC_SEQ_CST) != g) sched_yield();
        int status;
        waitpid(pid, &status, 0);
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) killed++;
    }
    stop = 1;
    printf("killed %ld of %ld children in %ld ms (%ld setenv calls on the other thread)\n", killed, n,
           (now_ns() - start) / 1000000, (long)setenv_calls);
    if (stuck) printf("setenv thread stuck\n");
    signal(SIGALRM, on_alarm);
    alarm(10);
    setenv("FINAL", "1", 1);
    alarm(0);
    printf("final setenv returned\n");
    _exit(0);
}

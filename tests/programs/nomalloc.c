/* A test preload whose malloc family aborts in a child between fork and
 * exec: proves the exec hooks allocate nothing there. The flag is set by a
 * pthread_atfork child handler and disappears with the exec. */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static volatile int in_fork_child;

static void check(const char *what) {
    if (in_fork_child) {
        static const char message[] = "nomalloc: allocation in a fork child before exec\n";
        write(2, message, sizeof message - 1);
        (void)what;
        abort();
    }
}

void *malloc(size_t n) { check("malloc"); return __libc_malloc(n); }
void *calloc(size_t n, size_t m) { check("calloc"); return __libc_calloc(n, m); }
void *realloc(void *p, size_t n) { check("realloc"); return __libc_realloc(p, n); }
void free(void *p) { check("free"); __libc_free(p); }
int posix_memalign(void **out, size_t align, size_t n) {
    check("posix_memalign");
    *out = __libc_memalign(align, n);
    return *out ? 0 : 12;
}

static void child(void) { in_fork_child = 1; }

__attribute__((constructor)) static void init(void) { pthread_atfork(NULL, NULL, child); }

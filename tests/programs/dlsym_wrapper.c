/* A preloaded library that interposes dlopen and dlsym (as tracers and overlays do) and counts
 * calls under one non-recursive mutex, held across the real dlopen. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long calls;

static void *real_symbol(const char *name) {
    void *found = dlvsym(RTLD_NEXT, name, "GLIBC_2.34");
    return found ? found : dlvsym(RTLD_NEXT, name, "GLIBC_2.2.5");
}

void *dlsym(void *handle, const char *name) {
    static void *(*real)(void *, const char *);
    if (!real) real = (void *(*)(void *, const char *))real_symbol("dlsym");
    pthread_mutex_lock(&lock);
    calls++;
    pthread_mutex_unlock(&lock);
    return real(handle, name);
}

void *dlopen(const char *file, int flags) {
    static void *(*real)(const char *, int);
    if (!real) real = (void *(*)(const char *, int))real_symbol("dlopen");
    pthread_mutex_lock(&lock);
    void *handle = real(file, flags);
    pthread_mutex_unlock(&lock);
    return handle;
}

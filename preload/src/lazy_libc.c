/* Lazily bound libc calls, and private memory/string primitives.
 *
 * libenvtrack.so is loaded into every process of a job, so what it costs to
 * load matters. Rust code merged by LTO calls some libc functions through the
 * GOT, and every GOT entry is bound when the library loads (about 700
 * instructions each in ld.so). Calls made from C go through the PLT and are
 * bound on first use instead. So the Rust code calls these hidden wrappers,
 * and the memory primitives the compiler emits calls to are defined here,
 * hidden: they bind to these definitions inside the library, need no
 * relocation, and are never exported (the program's own memcpy is untouched).
 *
 * Everything here is async-signal-safe: no allocation, no locks (the
 * allocation wrappers are only used outside the exec path). */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define HIDDEN __attribute__((visibility("hidden")))

HIDDEN FILE *envtrack_fdopen(int fd, const char *mode) { return fdopen(fd, mode); }
HIDDEN int envtrack_fclose(FILE *stream) { return fclose(stream); }
HIDDEN void envtrack_abort(void) { abort(); }
HIDDEN void *envtrack_malloc(size_t size) { return malloc(size); }
HIDDEN void *envtrack_realloc(void *pointer, size_t size) { return realloc(pointer, size); }
HIDDEN void envtrack_free(void *pointer) { free(pointer); }
HIDDEN int envtrack_posix_memalign(void **out, size_t alignment, size_t size) {
    return posix_memalign(out, alignment, size);
}

/* pthread_atfork as glibc itself defines it (a static function in libc_nonshared.a
 * calling __register_atfork with this object's handle). Called directly because glibc
 * before 2.28 keeps pthread_atfork in libpthread.so.0, which this library would otherwise
 * load into every process; __register_atfork has been in libc.so.6 since glibc 2.3.2. */
extern int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
                             void *dso_handle);
extern void *__dso_handle __attribute__((weak, visibility("hidden")));
HIDDEN int envtrack_register_atfork(void (*prepare)(void), void (*parent)(void),
                                    void (*child)(void)) {
    return __register_atfork(prepare, parent, child, &__dso_handle == NULL ? NULL : __dso_handle);
}

/* The primitives the compiler calls. Word at a time where aligned. */
HIDDEN void *memcpy(void *restrict to, const void *restrict from, size_t n) {
    unsigned char *d = to;
    const unsigned char *s = from;
    if ((((uintptr_t)d | (uintptr_t)s) & 7) == 0) {
        for (; n >= 8; n -= 8, d += 8, s += 8) *(uint64_t *)d = *(const uint64_t *)s;
    }
    while (n--) *d++ = *s++;
    return to;
}

HIDDEN void *memmove(void *to, const void *from, size_t n) {
    unsigned char *d = to;
    const unsigned char *s = from;
    if (d == s || n == 0) return to;
    if (d < s || d >= s + n) return memcpy(to, from, n);
    while (n--) d[n] = s[n];
    return to;
}

HIDDEN void *memset(void *to, int byte, size_t n) {
    unsigned char *d = to;
    while (n--) *d++ = (unsigned char)byte;
    return to;
}

HIDDEN int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y) return *x - *y;
    return 0;
}

HIDDEN int bcmp(const void *a, const void *b, size_t n) { return memcmp(a, b, n); }

/* Eight bytes at a time once aligned (an aligned 8-byte read never crosses
 * into an unmapped page). */
HIDDEN size_t strlen(const char *s) {
    const char *p = s;
    for (; (uintptr_t)p & 7; p++)
        if (!*p) return (size_t)(p - s);
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    for (;; p += 8) {
        uint64_t word = *(const uint64_t *)p;
        if ((word - ones) & ~word & highs) break;
    }
    while (*p) p++;
    return (size_t)(p - s);
}

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
#include <emmintrin.h>
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

/* The primitives the compiler calls, and the library's own strlen. They run on
 * every hook, over whole environments (tens to hundreds of KiB), so they work a
 * word (or 16 bytes) at a time; x86-64 reads unaligned words cheaply, and an
 * aligned read never crosses into an unmapped page. */
typedef uint64_t __attribute__((aligned(1), may_alias)) unaligned_u64;

typedef uint32_t __attribute__((aligned(1), may_alias)) unaligned_u32;

HIDDEN void *memcpy(void *restrict to, const void *restrict from, size_t n) {
    unsigned char *d = to;
    const unsigned char *s = from;
    if (n <= 16) {
        /* Short copies (names, record headers) as two overlapping moves. */
        if (n >= 8) {
            uint64_t head = *(const unaligned_u64 *)s, tail = *(const unaligned_u64 *)(s + n - 8);
            *(unaligned_u64 *)d = head;
            *(unaligned_u64 *)(d + n - 8) = tail;
        } else if (n >= 4) {
            uint32_t head = *(const unaligned_u32 *)s, tail = *(const unaligned_u32 *)(s + n - 4);
            *(unaligned_u32 *)d = head;
            *(unaligned_u32 *)(d + n - 4) = tail;
        } else {
            while (n--) *d++ = *s++;
        }
        return to;
    }
    if (n >= 256) {
        /* The bulk by the CPU's own string copy, eight bytes a step. */
        size_t words = n / 8;
        __asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(words) : : "memory");
        n %= 8;
    }
    for (; n >= 8; n -= 8, d += 8, s += 8) *(unaligned_u64 *)d = *(const unaligned_u64 *)s;
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
    uint64_t word = (unsigned char)byte * 0x0101010101010101ull;
    for (; n >= 8; n -= 8, d += 8) *(unaligned_u64 *)d = word;
    while (n--) *d++ = (unsigned char)byte;
    return to;
}

HIDDEN int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    if (n >= 8) {
        /* Whole words, then the last eight bytes (overlapping those already equal). The first
         * differing byte decides: compare the words as big-endian numbers. */
        for (;;) {
            uint64_t u, v;
            if (n > 8) {
                u = *(const unaligned_u64 *)x;
                v = *(const unaligned_u64 *)y;
            } else {
                u = *(const unaligned_u64 *)(x + n - 8);
                v = *(const unaligned_u64 *)(y + n - 8);
            }
            if (u != v) {
                u = __builtin_bswap64(u);
                v = __builtin_bswap64(v);
                return u < v ? -1 : 1;
            }
            if (n <= 8) return 0;
            x += 8;
            y += 8;
            n -= 8;
        }
    }
    for (; n; n--, x++, y++)
        if (*x != *y) return *x - *y;
    return 0;
}

/* Equality only (what slice comparison asks): whole words, then the last eight bytes. */
HIDDEN int bcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    if (n >= 8) {
        for (; n > 8; n -= 8, x += 8, y += 8)
            if (*(const unaligned_u64 *)x != *(const unaligned_u64 *)y) return 1;
        return *(const unaligned_u64 *)(x + n - 8) != *(const unaligned_u64 *)(y + n - 8);
    }
    if (n >= 4)
        return (*(const unaligned_u32 *)x != *(const unaligned_u32 *)y) |
               (*(const unaligned_u32 *)(x + n - 4) != *(const unaligned_u32 *)(y + n - 4));
    for (; n; n--, x++, y++)
        if (*x != *y) return 1;
    return 0;
}

/* Sixteen bytes at a time, from the aligned block that holds the start (SSE2 is
 * part of x86-64 itself). */
HIDDEN size_t strlen(const char *s) {
    const __m128i zero = _mm_setzero_si128();
    const char *p;
    unsigned mask;
    if (((uintptr_t)s & 4095) <= 4096 - 16) {
        /* The first 16 bytes in one unaligned read when they stay in the page: most
         * environment entries end within them or the next block. */
        mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)s), zero));
        if (mask) return (size_t)__builtin_ctz(mask);
        p = (const char *)(((uintptr_t)s + 16) & ~(uintptr_t)15);
    } else {
        p = (const char *)((uintptr_t)s & ~(uintptr_t)15);
        mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128((const __m128i *)p), zero));
        mask >>= (uintptr_t)s & 15;
        if (mask) return (size_t)__builtin_ctz(mask);
        p += 16;
    }
    for (;;) {
        mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128((const __m128i *)p), zero));
        if (mask) return (size_t)(p + __builtin_ctz(mask) - s);
        p += 16;
    }
}

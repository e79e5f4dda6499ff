/* Prints NAME=VALUE (or NAME unset) for each name on its command line, read
 * with getenv. Built with -static: no LD_PRELOAD library reaches it, so it
 * sees only what its environment held at exec. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *value = getenv(argv[i]);
        if (value)
            printf("%s=%s\n", argv[i], value);
        else
            printf("%s unset\n", argv[i]);
    }
    return 0;
}

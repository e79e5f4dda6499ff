/* A rank binary that needs libneeded.so, found only through a directory a
 * directive prepends to LD_LIBRARY_PATH (it has no rpath). */
#include <stdio.h>
#include <stdlib.h>

int needed_answer(void);

int main(void) {
    const char *node = getenv("FAKE_NODE");
    printf("needs_lib on %s: %d\n", node ? node : "local", needed_answer());
    return 0;
}

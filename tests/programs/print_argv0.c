/* Prints its argv[0] and argument count: what a program that dispatches on
 * its own name sees. */
#include <stdio.h>

int main(int argc, char **argv) {
    printf("argv0=%s argc=%d\n", argc > 0 ? argv[0] : "(none)", argc);
    return 0;
}

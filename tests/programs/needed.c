/* The library needs_lib links against. */
int needed_answer(void) { return 42; }

/* An empty LD_PRELOAD library: no constructor, no symbols of its own.
 *
 * load_cost.sh preloads it to measure what merely loading one more shared
 * object costs the dynamic linker (open, map, relocate, symbol-lookup scope),
 * the floor under any preload library. */

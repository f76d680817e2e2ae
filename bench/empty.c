/* empty.c - build/bench-empty.so: a preloaded library that does nothing.
 * scripts/bench runs ssh with it as a control, to tell the cost of loading
 * any LD_PRELOAD library from the cost of muxfix's own work. */
int muxfix_bench_empty(void);
int muxfix_bench_empty(void)
{
    return 0;
}

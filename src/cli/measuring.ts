/**
 * How `bench` and `replay` start the Node processes they time in.
 */

/**
 * V8's flags for a measuring process. `--no-concurrent-recompilation` makes the optimising
 * compiler run on the main thread, when a function gets hot, instead of on a background thread
 * while the interpreter goes on: the type feedback a function is compiled with then no longer
 * depends on how far the loop ran during the compile, which otherwise leaves 30–60% between two
 * processes of the same build (dependency bail-outs, code thrown away mid-run); sqlite3-small's
 * replay ran at 87–88 ns/op in four processes with it, 96–127 without. The compiler and its
 * optimisations are the same; only its timing is fixed. Setting the flag from inside a running
 * process (`v8.setFlagsFromString`) does not take effect, hence a process of its own.
 */
export const MEASURING_V8_FLAGS: readonly string[] = ['--no-concurrent-recompilation'];

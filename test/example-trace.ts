/** The example trace of docs/trace-format.md: six ops, peak live bytes 4264. */
export const EXAMPLE_TRACE = `# wallos-trace v1
# program: example
# ops: 6
# peak_live_bytes: 4264
# threads: 1
a 1 100
c 2 4 16
m 3 64 4000
r 1 200
f 2
f 1
`;

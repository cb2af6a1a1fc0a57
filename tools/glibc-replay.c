/*
 * glibc-replay: replays a wallos-trace v1 (plain text, on stdin) through this machine's glibc
 * malloc family, to give any trace (the synthetic ones included) the yardstick the sample
 * traces come with: a verified pass (every block filled with a byte derived from its id and
 * checked at realloc and free), the peak footprint (mallinfo2 arena + hblkhd, sampled where
 * live bytes reach a new peak and at the end), then the median ns/op of 7 passes of the bare
 * calls. One JSON line, as `wallos-mem replay --json`:
 *
 *   cc -O2 -o glibc-replay tools/glibc-replay.c
 *   node dist/cli/main.js ... | ./glibc-replay < some.trace
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

enum { TIMED_RUNS = 7, LINE_MAX_BYTES = 4096 };

struct op {
  char kind;
  uint32_t id;
  size_t a, b;
};

static struct op *ops;
static size_t n_ops, objects;
static void **ptrs;
static size_t *sizes;

static unsigned char pattern(uint32_t id) { return (unsigned char)(((id * 0x9e3779b1u) >> 24) | 1); }

static void die(const char *what) {
  fprintf(stderr, "glibc-replay: %s\n", what);
  exit(1);
}

/* The replayer's own tables come from mmap, so glibc's footprint counts the trace alone. */
static void *table(size_t bytes) {
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("out of memory for the tables");
  return p;
}

static void parse(void) {
  char line[LINE_MAX_BYTES];
  size_t cap = 1 << 20;
  ops = table(cap * sizeof *ops);
  while (fgets(line, sizeof line, stdin)) {
    if (line[0] == '#') continue;
    if (n_ops == cap) {
      struct op *bigger = table(2 * cap * sizeof *ops);
      memcpy(bigger, ops, cap * sizeof *ops);
      munmap(ops, cap * sizeof *ops);
      ops = bigger;
      cap *= 2;
    }
    struct op *o = &ops[n_ops++];
    unsigned long long id = 0, a = 0, b = 0;
    o->kind = line[0];
    if (sscanf(line + 2, "%llu %llu %llu", &id, &a, &b) < 1) die("bad op line");
    o->id = (uint32_t)id;
    o->a = a;
    o->b = b;
    if (id > objects) objects = id;
  }
  ptrs = table((objects + 1) * sizeof *ptrs);
  sizes = table((objects + 1) * sizeof *sizes);
}

/* posix_memalign as the traced programs' aligned allocations: ALIGN below a pointer's size is a pointer's. */
static void *aligned(size_t align, size_t bytes) {
  void *p = NULL;
  return posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, bytes) == 0 ? p : NULL;
}

static size_t footprint(void) {
  struct mallinfo2 info = mallinfo2();
  return info.arena + info.hblkhd;
}

static void expect(uint32_t id, const void *p, size_t bytes) {
  const unsigned char *q = p, byte = pattern(id);
  for (size_t i = 0; i < bytes; i++)
    if (q[i] != byte) die("contents changed");
}

/* The verified pass: the peak footprint, or exits on a failed check. */
static size_t verified_pass(size_t *peak_live) {
  size_t live = 0, peak = 0;
  *peak_live = 0;
  for (size_t i = 0; i < n_ops; i++) {
    const struct op *o = &ops[i];
    size_t old = sizes[o->id], bytes = 0;
    void *p = NULL;
    switch (o->kind) {
      case 'a': bytes = o->a; p = malloc(bytes); break;
      case 'c': bytes = o->a * o->b; p = calloc(o->a, o->b); break;
      case 'm': bytes = o->b; p = aligned(o->a, bytes); break;
      case 'r':
        bytes = o->a;
        p = realloc(ptrs[o->id], bytes);
        if (p) expect(o->id, p, old < bytes ? old : bytes);
        live -= old;
        break;
      case 'f':
        expect(o->id, ptrs[o->id], old);
        free(ptrs[o->id]);
        live -= old;
        sizes[o->id] = 0;
        continue;
      default: die("unknown op");
    }
    if (p == NULL && bytes > 0) die("allocation failed");
    if (o->kind == 'r') { if (bytes > old) memset((char *)p + old, pattern(o->id), bytes - old); }
    else memset(p, pattern(o->id), bytes);
    ptrs[o->id] = p;
    sizes[o->id] = bytes;
    live += bytes;
    if (live > *peak_live) {
      *peak_live = live;
      size_t f = footprint();
      if (f > peak) peak = f;
    }
  }
  size_t f = footprint();
  if (f > peak) peak = f;
  for (size_t id = 1; id <= objects; id++)
    if (sizes[id]) { free(ptrs[id]); sizes[id] = 0; }
  return peak;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

/* One pass of the bare calls (no memory touched); its ns. Leftovers are freed untimed. */
static double timed_pass(void) {
  memset(ptrs, 0, (objects + 1) * sizeof *ptrs);
  double start = now_ns();
  for (size_t i = 0; i < n_ops; i++) {
    const struct op *o = &ops[i];
    switch (o->kind) {
      case 'a': ptrs[o->id] = malloc(o->a); break;
      case 'c': ptrs[o->id] = calloc(o->a, o->b); break;
      case 'm': ptrs[o->id] = aligned(o->a, o->b); break;
      case 'r': ptrs[o->id] = realloc(ptrs[o->id], o->a); break;
      case 'f': free(ptrs[o->id]); ptrs[o->id] = NULL; break;
    }
  }
  double ns = now_ns() - start;
  for (size_t id = 1; id <= objects; id++) { free(ptrs[id]); ptrs[id] = NULL; }
  return ns;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(void) {
  parse();
  size_t peak_live;
  size_t peak = verified_pass(&peak_live);
  double times[TIMED_RUNS];
  for (int run = 0; run < TIMED_RUNS; run++) times[run] = timed_pass();
  qsort(times, TIMED_RUNS, sizeof *times, by_value);
  printf("{\"ops\":%zu,\"peakLiveBytes\":%zu,\"peakFootprintBytes\":%zu,\"nsPerOp\":%.1f,\"verified\":true}\n",
         n_ops, peak_live, peak, times[TIMED_RUNS / 2] / (double)n_ops);
  return 0;
}

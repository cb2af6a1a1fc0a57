/** wallos-trace v1: the parser and the replayer (isomorphic; the caller gunzips). */
export {
  OP_CALLOC,
  OP_FREE,
  OP_MALLOC,
  OP_MEMALIGN,
  OP_REALLOC,
  parseTrace,
  type Trace,
  TraceFormatError,
} from './parse.js';
export {
  patternByte,
  ReplayAllocationError,
  type ReplayOptions,
  type ReplayResult,
  replayTrace,
  type TraceAllocator,
  timeBareCalls,
} from './replay.js';

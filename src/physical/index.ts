/**
 * The physical memory layer: a buddy allocator of page frames with zones, reference counts,
 * per-use accounting, a per-CPU cache of single frames, debug poisoning and Linux-format statistics.
 */
export * from './allocator.js';
export * from './boot-layout.js';
export * from './constants.js';
export * from './errors.js';
export { PCP_BATCH, PCP_HIGH, PCP_MAX_ORDER } from './per-cpu-pages.js';
export * from './poison.js';
export * from './stats.js';

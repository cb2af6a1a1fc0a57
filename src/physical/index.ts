/**
 * The physical memory layer: a buddy allocator of page frames with zones, reference counts,
 * per-use accounting, debug poisoning and Linux-format statistics.
 */
export * from './allocator.js';
export * from './boot-layout.js';
export * from './constants.js';
export * from './errors.js';
export * from './poison.js';
export * from './stats.js';

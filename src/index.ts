/**
 * wallos-memory: the WallOS memory system over a simulated x86-64 machine.
 *
 * The package root exports the {@link Machine} and the Linux constants; each layer can also be
 * used on its own (see docs/architecture.md).
 */
export * from './errors.js';
export * from './hw/address.js';
export * from './hw/constants.js';
export type { MemoryAccess } from './hw/memory-access.js';
export * from './hw/memory-map.js';
export * from './hw/ram.js';
export * from './hw/size.js';
export * from './linux-abi.js';

/** What the frame map's hover shows about one frame. */
import { formatPhysical } from '../../hw/address.js';
import { PAGE_SIZE } from '../../hw/constants.js';
import type { Machine } from '../../kernel/machine.js';
import { FRAME_USE_NAMES, MAX_ORDER, ZONE_NAMES, zoneOfPfn } from '../../physical/constants.js';
import { physicalToDirectMap } from '../../virtual/layout.js';
import { blockSizeLabel } from './buddy-histogram.js';
import { FrameCode, labelOf } from './frame-colours.js';
import { type FrameSnapshot, SHARED_OWNER } from './frame-snapshot.js';

/**
 * The hover text of frame `pfn`, one fact a line. `machine` is the machine at the snapshot's
 * moment, when there is one (the live run): it adds the frame's use, references and slab; a
 * moment of the past has only the snapshot, and `names` for its processes.
 */
export function describeFrame(
  machine: Machine | null,
  snapshot: FrameSnapshot,
  pfn: number,
  names: (pid: number) => string | undefined = (pid) => machine?.process(pid)?.name,
): string[] {
  const pa = pfn * PAGE_SIZE;
  const lines = [`frame ${pfn} at ${formatPhysical(pa)}, zone ${ZONE_NAMES[zoneOfPfn(pfn)]}`];
  const code = snapshot.codes[pfn]!;
  if (code === FrameCode.HOLE) return [...lines, 'no RAM here (memory-map hole)'];
  const use = machine === null ? '' : ` (${FRAME_USE_NAMES[machine.frames.frameUse(pa)]!})`;
  lines.push(`${labelOf(code)}${use}`);
  const block = snapshot.blockOf(pfn, MAX_ORDER);
  if (block !== undefined && code === FrameCode.FREE) {
    const [head, order] = block;
    lines.push(`in free block of order ${order} (${blockSizeLabel(order)}) at frame ${head}`);
    return lines;
  }
  if (block !== undefined && block[1] > 0) {
    const [head, order] = block;
    lines.push(`in a block of order ${order} (${blockSizeLabel(order)}) at frame ${head}`);
  }
  if (machine !== null) lines.push(`references: ${machine.frames.refCount(pa)}`);
  if (machine !== null && code === FrameCode.SLAB) lines.push(...describeSlabPage(machine, pa));
  const owner = snapshot.owners[pfn]!;
  const name = `pid ${owner} (${names(owner) ?? '?'})`;
  if (owner === SHARED_OWNER) lines.push('mapped by several processes (copy-on-write)');
  else if (owner > 0 && code === FrameCode.PAGE_TABLE) lines.push(`a page table of ${name}`);
  else if (owner > 0) lines.push(`mapped by ${name}`);
  return lines;
}

/** Which cache a slab page belongs to and how full its slab is. */
function describeSlabPage(machine: Machine, pa: number): string[] {
  const found = machine.slab.slabAt(physicalToDirectMap(pa));
  if (found === undefined) return ['large kmalloc block'];
  const { cache, slab } = found;
  return [
    `slab of ${cache.name}: ${slab.inUse} of ${cache.geometry.objectsPerSlab} objects in use`,
  ];
}

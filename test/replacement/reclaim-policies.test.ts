import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LinuxPolicy } from '../../src/replacement/linux.js';
import type { ReclaimPolicyName } from '../../src/replacement/policy.js';
import { createReclaimPolicy } from '../../src/replacement/reclaim-policies.js';

const UNIVERSE = 24;

/** One step the kernel could take: a fault adding a page, an unmap, a reclaim, an access. */
type Step =
  | { kind: 'add'; page: number }
  | { kind: 'remove'; page: number }
  | { kind: 'reclaim' }
  | { kind: 'touch'; page: number };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.nat(UNIVERSE - 1).map((page) => ({ kind: 'add' as const, page })) },
  { weight: 1, arbitrary: fc.nat(UNIVERSE - 1).map((page) => ({ kind: 'remove' as const, page })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'reclaim' as const }) },
  { weight: 4, arbitrary: fc.nat(UNIVERSE - 1).map((page) => ({ kind: 'touch' as const, page })) },
);

/** A policy as plain arrays scanned front to back: index 0 is the next candidate. */
interface Model {
  add(page: number): void;
  remove(page: number): void;
  pages(): number[];
  selectVictim(referenced: (page: number) => boolean): number;
}

function removeFrom(list: number[], page: number): boolean {
  const index = list.indexOf(page);
  if (index >= 0) list.splice(index, 1);
  return index >= 0;
}

function fifoModel(): Model {
  const queue: number[] = [];
  return {
    add: (page) => queue.push(page),
    remove: (page) => removeFrom(queue, page),
    pages: () => [...queue],
    selectVictim: () => queue.shift() ?? -1,
  };
}

function clockModel(): Model {
  const circle: number[] = [];
  return {
    add: (page) => circle.push(page),
    remove: (page) => removeFrom(circle, page),
    pages: () => [...circle],
    selectVictim(referenced) {
      while (circle.length > 0) {
        const page = circle.shift()!;
        if (!referenced(page)) return page;
        circle.push(page);
      }
      return -1;
    },
  };
}

function linuxModel(): Model {
  const inactive: number[] = [];
  const active: number[] = [];
  const marked = new Set<number>();
  const low = () => inactive.length < active.length;
  return {
    add(page) {
      marked.delete(page);
      inactive.push(page);
    },
    remove: (page) => removeFrom(inactive, page) || removeFrom(active, page),
    pages: () => [...inactive, ...active],
    selectVictim(referenced) {
      for (;;) {
        while (low()) {
          const page = active.shift()!;
          referenced(page);
          inactive.push(page);
        }
        const page = inactive.shift();
        if (page === undefined) return -1;
        const wasMarked = marked.delete(page);
        if (!referenced(page)) return page;
        marked.add(page);
        (wasMarked ? active : inactive).push(page);
      }
    },
  };
}

const MODELS: Record<ReclaimPolicyName, () => Model> = {
  fifo: fifoModel,
  clock: clockModel,
  linux: linuxModel,
};

/** Replays `steps` on the policy and its model with one shared Accessed bit per page. */
function agreeWithModel(name: ReclaimPolicyName, steps: Step[]): void {
  const policy = createReclaimPolicy(name, UNIVERSE);
  const model = MODELS[name]();
  const policyBits = new Uint8Array(UNIVERSE);
  const modelBits = new Uint8Array(UNIVERSE);
  const testAndClear = (bits: Uint8Array) => (page: number) => {
    const set = bits[page] === 1;
    bits[page] = 0;
    return set;
  };
  for (const step of steps) {
    if (step.kind === 'add' && !model.pages().includes(step.page)) {
      policy.add(step.page);
      model.add(step.page);
    } else if (step.kind === 'remove') {
      policy.remove(step.page);
      model.remove(step.page);
    } else if (step.kind === 'touch' && model.pages().includes(step.page)) {
      policyBits[step.page] = 1;
      modelBits[step.page] = 1;
    } else if (step.kind === 'reclaim') {
      expect(policy.selectVictim(testAndClear(policyBits))).toBe(
        model.selectVictim(testAndClear(modelBits)),
      );
    }
    expect(policyBits).toEqual(modelBits);
    expect(policy.size).toBe(model.pages().length);
    for (let page = 0; page < UNIVERSE; page++) {
      expect(policy.has(page)).toBe(model.pages().includes(page));
    }
  }
}

/** An Accessed bit per page, all set, cleared when asked (test-and-clear). */
function accessedBits(pages: number): (page: number) => boolean {
  const bits = new Uint8Array(pages).fill(1);
  return (page) => {
    const set = bits[page] === 1;
    bits[page] = 0;
    return set;
  };
}

describe.each(['fifo', 'clock', 'linux'] as const)('the %s reclaim policy', (name) => {
  it('chooses the same victims as a plain array model on random add/remove/touch/reclaim', () => {
    fc.assert(
      fc.property(fc.array(stepArbitrary, { maxLength: 200 }), (steps) =>
        agreeWithModel(name, steps),
      ),
      { numRuns: 150 },
    );
  });

  it('returns -1 with nothing tracked and rejects a page twice or outside its universe', () => {
    const policy = createReclaimPolicy(name, 4);
    expect(policy.selectVictim(() => false)).toBe(-1);
    policy.add(3);
    expect(() => policy.add(3)).toThrow(/already tracked/);
    expect(() => policy.add(4)).toThrow(/outside 0..3/);
    expect(() => policy.add(-1)).toThrow(RangeError);
    policy.remove(2);
    expect(policy.size).toBe(1);
    expect(policy.selectVictim(() => false)).toBe(3);
    expect(policy.size).toBe(0);
  });

  it('ends a sweep when every page is referenced and counts what it scanned', () => {
    const policy = createReclaimPolicy(name, 8);
    for (let page = 0; page < 8; page++) policy.add(page);
    const victim = policy.selectVictim(accessedBits(8));
    expect(victim).toBeGreaterThanOrEqual(0);
    expect(policy.has(victim)).toBe(false);
    expect(policy.counters.scanned).toBeGreaterThanOrEqual(1);
  });
});

describe('the linux policy', () => {
  function filled(pages: number): LinuxPolicy {
    const policy = new LinuxPolicy(pages);
    for (let page = 0; page < pages; page++) policy.add(page);
    return policy;
  }

  it('starts new pages inactive and evicts the oldest unreferenced one', () => {
    const policy = filled(4);
    expect(policy.activeSize).toBe(0);
    expect(policy.selectVictim(() => false)).toBe(0);
    expect(policy.counters).toEqual({ scanned: 1, activated: 0, deactivated: 0 });
  });

  it('keeps a page referenced once on the inactive list and activates it when seen again', () => {
    const policy = filled(4);
    const referencedPages = new Set([0]);
    const once = (page: number) => referencedPages.delete(page);
    expect(policy.selectVictim(once)).toBe(1); // 0 was spared with PG_referenced set
    expect(policy.activeSize).toBe(0);
    referencedPages.add(0);
    expect(policy.selectVictim(once)).toBe(2);
    expect(policy.selectVictim(once)).toBe(3);
    // 0 reaches the tail referenced a second time: pgactivate. The inactive list is then
    // empty, so 0 is deactivated again (its Accessed bit cleared) and, unreferenced, evicted.
    expect(policy.selectVictim(once)).toBe(0);
    expect(policy.counters).toEqual({ scanned: 6, activated: 1, deactivated: 1 });
  });

  it('refills the inactive list from the active tail when it is low, clearing Accessed bits', () => {
    const policy = filled(4);
    const marked = accessedBits(4);
    // Every page referenced once: a first trip marks them all (PG_referenced), the second
    // finds the bits clear and evicts the oldest.
    expect(policy.selectVictim(marked)).toBe(0);
    expect(policy.counters).toEqual({ scanned: 5, activated: 0, deactivated: 0 });
    // Referenced again: now they are activated until the inactive list runs low.
    const again = accessedBits(4);
    const victim = policy.selectVictim(again);
    expect(policy.counters.activated).toBeGreaterThan(0);
    expect(policy.counters.deactivated).toBeGreaterThan(0);
    expect(policy.has(victim)).toBe(false);
    expect(policy.size).toBe(2);
    expect(policy.size - policy.activeSize).toBeGreaterThanOrEqual(policy.activeSize);
  });

  it('uses inactive_ratio = int_sqrt(10 * GiB) once the lists hold a GiB', () => {
    const pagesPerGib = 262_144;
    const policy = filled(pagesPerGib + 1);
    policy.selectVictim(accessedBits(pagesPerGib + 1)); // marks every page, evicts page 0
    const marked = accessedBits(pagesPerGib + 1);
    policy.selectVictim(marked); // activates pages until the inactive list is low
    // 1 GiB tracked: the ratio is int_sqrt(10) = 3 (1 would keep active <= inactive), and
    // refilling kept inactive * 3 >= active until the victim left the inactive list.
    const inactive = policy.size - policy.activeSize;
    expect(policy.activeSize).toBeGreaterThan(2 * inactive);
    expect((inactive + 1) * 3).toBeGreaterThanOrEqual(policy.activeSize);
  });
});

/** The kernel's reclaim policies by name: `Machine.boot({ reclaim })` picks one. */
import { ClockPolicy } from './clock.js';
import { FifoPolicy } from './fifo.js';
import { LinuxPolicy } from './linux.js';
import { RECLAIM_POLICY_NAMES, type ReclaimPolicy, type ReclaimPolicyName } from './policy.js';

/** True when `name` is a policy the kernel's reclaim can run. */
export function isReclaimPolicyName(name: string): name is ReclaimPolicyName {
  return (RECLAIM_POLICY_NAMES as readonly string[]).includes(name);
}

/** A fresh reclaim policy tracking pages `0 <= page < universe` (frame numbers in the kernel). */
export function createReclaimPolicy(name: ReclaimPolicyName, universe: number): ReclaimPolicy {
  switch (name) {
    case 'fifo':
      return new FifoPolicy(universe);
    case 'clock':
      return new ClockPolicy(universe);
    case 'linux':
      return new LinuxPolicy(universe);
  }
}

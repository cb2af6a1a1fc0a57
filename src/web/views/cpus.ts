/**
 * The CPUs as a tab: one card per CPU with what its CR3 holds, its TLB-shootdown count (marked
 * when it grew since the last drawing: a shootdown just arrived) and the user translations its
 * TLB caches. CPUs and TLBs are not part of a recorded moment: the tab shows the live machine,
 * and says so while the timeline shows the past.
 */
import { type CpuRow, cpuRows } from '../model/cpu-view.js';
import { el, fillTable } from '../ui/dom.js';
import { registerView } from './registry.js';

let root: HTMLElement | null = null;
/** Each CPU's shootdown count at the last drawing. */
let lastCounts: number[] = [];

registerView({
  id: 'cpus',
  title: 'CPUs and TLBs',
  mount(parent) {
    root = el('section', null);
    root.id = 'cpus';
    parent.append(root);
  },
  render({ sim, live }) {
    if (root === null) return;
    const rows = cpuRows(sim.machine);
    const note = live ? '' : ' (live machine: CPUs are not recorded in the timeline)';
    root.replaceChildren(
      el('h2', null, `${rows.length} CPU${rows.length === 1 ? '' : 's'}${note}`),
      ...rows.map((row) => card(row, row.shootdownsReceived > (lastCounts[row.cpu] ?? 0))),
    );
    lastCounts = rows.map((row) => row.shootdownsReceived);
  },
});

/** One CPU's card: its state line, then its TLB's user translations. */
function card(row: CpuRow, shotDown: boolean): HTMLElement {
  const state = `CR3: ${row.holds}${row.lazy ? ' (lazy)' : ''}`;
  const shootdowns = el(
    'span',
    shotDown ? 'shootdown' : null,
    `TLB shootdowns received: ${row.shootdownsReceived}`,
  );
  const table = el('table', null);
  fillTable(
    table,
    ['virtual page', 'physical frame', 'rights'],
    row.entries.map((entry) => [entry.virtualPage, entry.physicalFrame, entry.flags]),
  );
  const more = row.userEntries > row.entries.length ? `… ${row.userEntries} in all` : '';
  return el(
    'div',
    'cpu',
    el('h3', null, `CPU ${row.cpu}`),
    state,
    el('br', null),
    shootdowns,
    table,
    more,
  );
}

/** The shell's commands that look at memory: /proc files, page walks, the CPUs and a TLB. */
import { formatAddress } from '../hw/address.js';
import type { PageWalk } from '../hw/mmu.js';
import { formatBytes } from '../hw/size.js';
import type { Process } from '../kernel/process.js';
import {
  addressArg,
  asShellError,
  type ShellCommand,
  ShellError,
  type ShellSession,
} from './shell-command.js';
import { formatCount, formatTable, type Painter } from './terminal.js';

const TLB_ROWS_SHOWN = 32;

export const MEMORY_COMMANDS: readonly ShellCommand[] = [
  {
    usage: 'cat FILE',
    help: 'print a /proc file (meminfo, buddyinfo, vmstat, swaps, PID/maps, PID/smaps…)',
    run: (session, [file]) => asShellError(() => session.machine.procfs.read(file!).trimEnd()),
  },
  {
    usage: 'walk PID VA',
    help: "the page walk of VA in PID's page tables, level by level",
    run: walk,
  },
  {
    usage: 'cpus',
    help: 'every CPU: what its CR3 holds, shootdowns received, TLB entries',
    ignoresArguments: true,
    run: cpus,
  },
  { usage: 'cpu N', help: "look at CPU N (the one 'tlb' shows)", run: selectCpu },
  {
    usage: 'tlb',
    help: "the cached translations of that CPU's TLB",
    ignoresArguments: true,
    run: tlb,
  },
];

function walk(session: ShellSession, [pid, vaText]: string[]): string {
  const process = session.residents.get(pid!);
  const va = addressArg(vaText!);
  const vm = session.machine.vm;
  const previous = vm.active;
  vm.switchTo(process.space);
  let walk: PageWalk;
  try {
    walk = session.machine.mmu.walk(va);
  } finally {
    vm.switchTo(previous);
  }
  return formatWalk(walk, process, session.painter);
}

function cpus(session: ShellSession): string {
  const processes = session.machine.processList;
  return formatTable(
    session.painter,
    ['', 'CPU', 'CR3 HOLDS', 'TLB SHOOTDOWNS', 'TLB ENTRIES'],
    session.machine.vm.cpus.all.map((cpu) => {
      const loaded = cpu.loadedSpace;
      const owner = processes.find((p) => !p.ended && p.space === loaded);
      const holds = owner === undefined ? 'kernel tables' : `[${owner.pid}] ${owner.name}`;
      return [
        cpu.id === session.cpu ? '*' : '',
        cpu.id,
        cpu.lazy ? `${holds} (lazy)` : holds,
        formatCount(cpu.shootdownsReceived),
        formatCount(cpu.mmu.tlb.entries().length),
      ];
    }),
    ['left', 'right', 'left', 'right', 'right'],
  );
}

function selectCpu(session: ShellSession, [text]: string[]): string {
  const cpu = Number(text);
  const count = session.machine.cpuCount;
  if (!/^\d+$/.test(text!) || cpu >= count) {
    throw new ShellError(`no CPU ${text} (the machine has ${count})`);
  }
  session.cpu = cpu;
  return `looking at CPU ${cpu}`;
}

function tlb(session: ShellSession): string {
  const tlb = session.machine.mmus[session.cpu]!.tlb;
  const entries = tlb.entries();
  const table = formatTable(
    session.painter,
    ['VIRTUAL PAGE', 'PHYSICAL', 'PAGE', 'FLAGS'],
    entries
      .slice(0, TLB_ROWS_SHOWN)
      .map((e) => [
        formatAddress(e.virtualPage),
        formatAddress(e.physicalFrame),
        formatBytes(e.pageSize),
        [
          e.writable ? 'RW' : 'RO',
          e.user ? 'US' : 'S',
          e.noExecute ? 'NX' : 'X',
          e.dirty ? 'D' : '',
          e.global ? 'G' : '',
        ]
          .filter((f) => f !== '')
          .join(' '),
      ]),
  );
  const more =
    entries.length > TLB_ROWS_SHOWN ? `\n… and ${entries.length - TLB_ROWS_SHOWN} more` : '';
  // Hits are not shown: a process's loads and stores hit without counting (see Tlb.hits).
  const walks = `${formatCount(tlb.misses)} misses (page walks)`;
  return `CPU ${session.cpu} TLB: ${entries.length} entries cached, ${walks}\n${table}${more}`;
}

function formatWalk(walk: PageWalk, process: Process, painter: Painter): string {
  const rows = walk.steps.map((step) => [
    step.tableName,
    step.index,
    formatAddress(step.entryAddress),
    `0x${(step.high >>> 0).toString(16).padStart(8, '0')}${(step.low >>> 0).toString(16).padStart(8, '0')}`,
    step.flags,
    step.present ? `${step.leaf ? 'page' : 'table'} ${formatAddress(step.target)}` : '-',
  ]);
  const table = formatTable(
    painter,
    ['LEVEL', 'INDEX', 'ENTRY AT', 'ENTRY', 'FLAGS', 'POINTS TO'],
    rows,
    ['left', 'right'],
  );
  const head = `walk of ${formatAddress(walk.virtualAddress)} in [${process.pid}] ${process.name}`;
  const outcome =
    walk.outcome === 'mapped'
      ? `=> ${formatAddress(walk.physicalAddress!)} (${formatBytes(walk.pageSize!)} page, ` +
        `${walk.user ? 'user' : 'supervisor'}, ${walk.writable ? 'writable' : 'read-only'}, ` +
        `${walk.noExecute ? 'no-execute' : 'executable'})`
      : `=> ${walk.outcome}: an access would page-fault`;
  return `${head}\n${table}\n${outcome}`;
}

/** The shell's process commands: start, list, fork and kill residents; work inside them. */
import { formatAddress } from '../hw/address.js';
import { PAGE_SIZE } from '../hw/constants.js';
import { formatBytes } from '../hw/size.js';
import { errnoName, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../linux-abi.js';
import { addressArg, type ShellCommand, type ShellSession, sizeArg } from './shell-command.js';
import { formatCount, formatTable } from './terminal.js';

export const PROCESS_COMMANDS: readonly ShellCommand[] = [
  {
    usage: 'spawn NAME',
    help: 'start a resident process',
    run: (session, [name]) => `[${session.residents.spawn(name!)}] ${name}`,
  },
  { usage: 'ps', help: 'list processes', ignoresArguments: true, run: ps },
  { usage: 'alloc PID SIZE', help: 'malloc(SIZE) in PID', run: alloc },
  { usage: 'free PID ADDR', help: 'free(ADDR) in PID', run: free },
  {
    usage: 'mmap PID SIZE',
    help: 'map SIZE bytes of anonymous read-write memory in PID',
    run: mmap,
  },
  {
    usage: 'touch PID ADDR [SIZE]',
    help: 'write one byte in every page of [ADDR, ADDR+SIZE) in PID',
    run: touch,
  },
  {
    usage: 'fork PID',
    help: 'fork PID (the child is resident too)',
    run: (session, [pid]) =>
      session.residents.run(pid!, (ctx) => `fork() = ${session.residents.fork(ctx)}`),
  },
  { usage: 'kill PID', help: 'send SIGKILL', run: kill },
];

function ps(session: ShellSession): string {
  const rows = session.machine.processList.map((p) => [
    p.pid,
    p.ppid,
    p.name,
    p.state,
    formatBytes(p.ended ? 0 : p.space.rss * PAGE_SIZE),
    formatCount(p.space.minorFaults),
    formatCount(p.space.cowBreaks),
    formatBytes(p.heap?.footprint() ?? 0),
  ]);
  return formatTable(
    session.painter,
    ['PID', 'PPID', 'NAME', 'STATE', 'RSS', 'FAULTS', 'COW', 'HEAP'],
    rows,
    ['right', 'right', 'left', 'left', 'right', 'right', 'right', 'right'],
  );
}

function alloc(session: ShellSession, [pid, sizeText]: string[]): string {
  const size = sizeArg(sizeText!);
  return session.residents.run(pid!, (ctx) => {
    const p = ctx.malloc(size);
    if (p === 0) return `malloc(${size}) = NULL (${errnoName(ctx.errno) ?? `errno ${ctx.errno}`})`;
    return `malloc(${size}) = ${formatAddress(p)}`;
  });
}

function free(session: ShellSession, [pid, addressText]: string[]): string {
  const address = addressArg(addressText!);
  return session.residents.run(pid!, (ctx) => {
    ctx.free(address);
    return `free(${formatAddress(address)})`;
  });
}

function mmap(session: ShellSession, [pid, sizeText]: string[]): string {
  const size = sizeArg(sizeText!);
  return session.residents.run(pid!, (ctx) => {
    const p = ctx.mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    return `mmap(${size}) = ${formatAddress(p)}`;
  });
}

function touch(session: ShellSession, [pid, startText, sizeText]: string[]): string {
  const start = addressArg(startText!);
  const size = sizeText === undefined ? 1 : sizeArg(sizeText);
  const process = session.residents.get(pid!);
  const faultsBefore = process.space.minorFaults;
  const majorBefore = process.space.majorFaults;
  return session.residents.run(pid!, (ctx) => {
    let pages = 0;
    for (let page = start - (start % PAGE_SIZE); page < start + size; page += PAGE_SIZE) {
      ctx.store8(Math.max(page, start), 1);
      pages++;
    }
    const faults = process.space.minorFaults - faultsBefore;
    const major = process.space.majorFaults - majorBefore;
    const reads = major > 0 ? `, ${major} major (read back from swap)` : '';
    return `touched ${pages} page(s) from ${formatAddress(start)}: ${faults} page fault(s)${reads}`;
  });
}

function kill(session: ShellSession, [pid]: string[]): string {
  const process = session.residents.kill(pid!);
  return `[${process.pid}] ${process.name} killed (SIGKILL)`;
}

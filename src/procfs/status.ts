/** /proc/PID/status, with the fields of Linux 6.x in Linux's order. */

import { PAGE_SIZE } from '../hw/constants.js';
import type { Process } from '../kernel/process.js';
import { lockedBytes } from '../virtual/mlock.js';
import { kb } from './format.js';

const STATE_NAMES = {
  runnable: 'R (running)',
  running: 'R (running)',
  waiting: 'S (sleeping)',
  zombie: 'Z (zombie)',
  reaped: 'X (dead)',
} as const;

/** A `VmRSS:\t    1234 kB` line. */
function vmLine(label: string, bytes: number): string {
  return `${label}:\t${String(kb(bytes)).padStart(8)} kB\n`;
}

export function formatStatus(process: Process, cpus: number): string {
  const pid = process.pid;
  let text =
    `Name:\t${process.comm}\nUmask:\t0022\nState:\t${STATE_NAMES[process.state]}\n` +
    `Tgid:\t${pid}\nNgid:\t0\nPid:\t${pid}\nPPid:\t${process.ppid}\nTracerPid:\t0\n` +
    'Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t\n' +
    `NStgid:\t${pid}\nNSpid:\t${pid}\nNSpgid:\t${pid}\nNSsid:\t${pid}\nKthread:\t0\n`;
  if (!process.ended) text += memoryLines(process);
  text +=
    `Threads:\t${Math.max(1, process.threadCount)}\nSigQ:\t0/63396\nSigPnd:\t0000000000000000\n` +
    'ShdPnd:\t0000000000000000\n' +
    'SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n' +
    'CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n' +
    'CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\n' +
    `Seccomp_filters:\t0\nCpus_allowed:\t${cpuMask(cpus)}\n` +
    `Cpus_allowed_list:\t${cpus === 1 ? '0' : `0-${cpus - 1}`}\nMems_allowed:\t1\n` +
    'Mems_allowed_list:\t0\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n';
  return text;
}

function memoryLines(process: Process): string {
  const space = process.space;
  const size = space.mappedBytes;
  const rss = space.rss * PAGE_SIZE;
  return (
    vmLine('VmPeak', Math.max(process.peakVmSize, size)) +
    vmLine('VmSize', size) +
    vmLine('VmLck', lockedBytes(space)) +
    vmLine('VmPin', 0) +
    vmLine('VmHWM', space.peakRss * PAGE_SIZE) +
    vmLine('VmRSS', rss) +
    vmLine('RssAnon', rss) +
    vmLine('RssFile', 0) +
    vmLine('RssShmem', 0) +
    vmLine('VmData', space.dataBytes) +
    vmLine('VmStk', space.stack?.length ?? 0) +
    vmLine('VmExe', space.textBytes) +
    vmLine('VmLib', 0) +
    vmLine('VmPTE', space.tables.tablePages * PAGE_SIZE) +
    vmLine('VmSwap', space.swapEntries * PAGE_SIZE) +
    vmLine('HugetlbPages', 0) +
    'CoreDumping:\t0\nTHP_enabled:\t1\n'
  );
}

/**
 * A mask of the first `cpus` CPUs as Linux prints a cpumask: hex, in 32-bit groups separated
 * by commas, the highest first (`f` for 4 CPUs, `ffffffff,ffffffff` for 64).
 */
function cpuMask(cpus: number): string {
  const groups: string[] = [];
  for (let first = 0; first < cpus; first += 32) {
    const bits = Math.min(32, cpus - first);
    const group = bits === 32 ? 0xffffffff : 2 ** bits - 1;
    groups.unshift(group.toString(16).padStart(first + 32 < cpus ? 8 : 0, '0'));
  }
  return groups.join(',');
}

/**
 * The files of the CPUs: `/proc/cpuinfo` (one block per CPU, x86's format) and
 * `/proc/interrupts` (the per-CPU interrupt counts, here the `TLB:` row of shootdowns).
 */

import { MAXPHYADDR } from '../hw/paging.js';
import type { KernelView } from './kernel-view.js';

/** The CPUID features the simulated CPUs have (those of the paging model among them). */
const CPU_FLAGS =
  'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr ' +
  'sse sse2 ht syscall nx pdpe1gb rdtscp lm constant_tsc nopl xtopology cpuid pni ssse3 cx16 ' +
  'sse4_1 sse4_2 x2apic popcnt hypervisor lahf_lm smep smap';
/** Width of the IRQ-name column of /proc/interrupts (Linux's `prec` for up to 999 IRQs). */
const IRQ_NAME_WIDTH = 3;
/** Width of each CPU's count column. */
const COUNT_WIDTH = 10;

/** `/proc/cpuinfo`: a `processor : i` block per CPU, each CPU a core of one package. */
export function formatCpuinfo(kernel: KernelView): string {
  const cpus = kernel.vm.cpus.count;
  const blocks: string[] = [];
  for (let cpu = 0; cpu < cpus; cpu++) {
    blocks.push(
      `processor\t: ${cpu}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n` +
        'model name\t: wallos-memory simulated x86-64 CPU\nstepping\t: 7\n' +
        'cpu MHz\t\t: 2000.000\ncache size\t: 16384 KB\n' +
        `physical id\t: 0\nsiblings\t: ${cpus}\ncore id\t\t: ${cpu}\ncpu cores\t: ${cpus}\n` +
        `apicid\t\t: ${cpu}\ninitial apicid\t: ${cpu}\nfpu\t\t: yes\nfpu_exception\t: yes\n` +
        `cpuid level\t: 13\nwp\t\t: yes\nflags\t\t: ${CPU_FLAGS}\nbugs\t\t:\n` +
        'bogomips\t: 4000.00\nclflush size\t: 64\ncache_alignment\t: 64\n' +
        `address sizes\t: ${MAXPHYADDR} bits physical, 48 bits virtual\npower management:\n`,
    );
  }
  return blocks.join('\n');
}

/**
 * `/proc/interrupts`: a header of CPU columns, then x86's `TLB:` row — the TLB-shootdown
 * IPIs each CPU received — and the ERR and MIS counters.
 */
export function formatInterrupts(kernel: KernelView): string {
  const cpus = kernel.vm.cpus.all;
  let text = ' '.repeat(IRQ_NAME_WIDTH + 8);
  for (const cpu of cpus) text += `CPU${String(cpu.id).padEnd(8)}`;
  text += `\n${'TLB'.padStart(IRQ_NAME_WIDTH)}: `;
  for (const cpu of cpus) text += `${String(cpu.shootdownsReceived).padStart(COUNT_WIDTH)} `;
  text += '  TLB shootdowns\n';
  text += `${'ERR'.padStart(IRQ_NAME_WIDTH)}: ${'0'.padStart(COUNT_WIDTH)}\n`;
  text += `${'MIS'.padStart(IRQ_NAME_WIDTH)}: ${'0'.padStart(COUNT_WIDTH)}\n`;
  return text;
}

/**
 * /proc/PID/stat: one line of 52 fields, in Linux's order and format (fs/proc/array.c
 * do_task_stat), what ps(1) and top(1) read: among them the fault counts (minflt, majflt: a
 * major fault is a page read back from swap), vsize in bytes and rss in pages.
 */
import type { Process } from '../kernel/process.js';
import { imageData, imageText } from '../virtual/layout.js';

/** The state letters of stat's third field. */
const STATE_LETTERS = {
  runnable: 'R',
  running: 'R',
  waiting: 'S',
  zombie: 'Z',
  reaped: 'X',
} as const;
/** flags: PF_RANDOMIZE, as an ordinary process shows. */
const PF_RANDOMIZE = 0x400000;
/** priority and nice of a normal task (SCHED_OTHER, nice 0). */
const PRIORITY = 20;
/** rsslim: RLIM_INFINITY as an unsigned 64-bit number. */
const RLIM_INFINITY = '18446744073709551615';
/** exit_signal: SIGCHLD. */
const SIGCHLD = 17;

export function formatStat(process: Process): string {
  const live = !process.ended;
  const space = process.space;
  const [startCode, endCode] = live ? imageText(space.layout) : [0, 0];
  const [startData, endData] = live ? imageData(space.layout) : [0, 0];
  const fields: (number | string)[] = [
    process.pid,
    `(${process.comm})`,
    STATE_LETTERS[process.state],
    process.ppid,
    process.pid, // pgrp
    process.pid, // session
    0, // tty_nr
    -1, // tpgid
    PF_RANDOMIZE,
    space.minorFaults,
    0, // cminflt
    space.majorFaults,
    0, // cmajflt
    0, // utime
    0, // stime
    0, // cutime
    0, // cstime
    PRIORITY,
    0, // nice
    Math.max(1, process.threadCount),
    0, // itrealvalue
    0, // starttime
    live ? space.mappedBytes : 0,
    live ? space.rss : 0,
    RLIM_INFINITY,
    startCode,
    endCode,
    live ? (space.stack?.end ?? 0) : 0, // startstack
    0, // kstkesp
    0, // kstkeip
    0, // signal
    0, // blocked
    0, // sigignore
    0, // sigcatch
    0, // wchan
    0, // nswap
    0, // cnswap
    SIGCHLD,
    process.cpu,
    0, // rt_priority
    0, // policy
    0, // delayacct_blkio_ticks
    0, // guest_time
    0, // cguest_time
    startData,
    endData,
    live ? space.brkStart : 0, // start_brk
    0, // arg_start
    0, // arg_end
    0, // env_start
    0, // env_end
    process.ended ? process.waitStatus : 0, // exit_code
  ];
  return `${fields.join(' ')}\n`;
}

/**
 * What a fault in user mode leads to, as Linux's arch/x86/mm/fault.c (do_user_addr_fault,
 * bad_area → force_sig_fault): the VM's fault handler resolves it and the access is retried,
 * the OOM path makes room for it, or the process dies by SIGSEGV with a fault report.
 *
 * ```
 *  #PF ─► handleFault (CPL 0) ─► HANDLED ───────────────────────────────► retry the access
 *                             ─► OUT_OF_MEMORY ─► out_of_memory freed some? ─► handle again
 *                                               └ no ─► SIGKILL ("out of memory")
 *                             ─► SEGV_MAPERR / SEGV_ACCERR ─► segfault line on stderr, SIGSEGV
 *  #GP (non-canonical address) ─► SIGSEGV;   anything else ─► a kernel bug: an oops
 * ```
 */
import { formatAddress } from '../hw/address.js';
import { describePageFault, GeneralProtectionFault, PageFault } from '../hw/mmu.js';
import { PF_ID, PF_W } from '../hw/paging.js';
import { SIGKILL, SIGSEGV } from '../linux-abi.js';
import { FaultResult } from '../virtual/stats.js';
import { ProcessTermination } from './errors.js';
import type { Machine } from './machine.js';
import type { FaultReport, Process } from './process.js';

/** Faults one access may take at one place before it is a kernel bug (a fault loop). */
const MAX_REPEATED_FAULTS = 4;

export class UserFaults {
  constructor(
    private readonly machine: Machine,
    /** Records a kernel bug as an oops (at CPL 0); what to throw for it. */
    private readonly oops: (error: unknown) => Error,
    /**
     * The OOM path: true when memory was freed and the fault is worth retrying. It reclaims
     * first only when `reclaimFirst`, else goes straight to the OOM killer.
     */
    private readonly outOfMemory: (reclaimFirst: boolean) => boolean,
  ) {}

  /**
   * What a fault in user mode leads to: the handler resolves it (return, and the access is
   * retried) or the process dies (the termination is thrown through the program).
   * @param faults how many times this one access has faulted in a row without getting further,
   *   counting this fault: more than {@link MAX_REPEATED_FAULTS} means the handler "resolves"
   *   a fault that the MMU keeps raising, a kernel bug.
   */
  userFault(process: Process, error: unknown, faults: number): void {
    if (error instanceof ProcessTermination) throw error;
    if (process.ended) throw new ProcessTermination(process.pid);
    if (error instanceof GeneralProtectionFault) {
      this.killBySegv(process, error.address, 'SEGV_MAPERR', 'read', error.message);
    }
    if (!(error instanceof PageFault)) throw this.oops(error);
    this.userPageFault(process, error.cr2, error.errorCode, faults);
  }

  /**
   * A page fault in user mode at `cr2` with x86 error code `errorCode`, the `faults`th of its
   * access (see {@link userFault}): the handler resolves it or the process dies.
   */
  userPageFault(process: Process, cr2: number, errorCode: number, faults: number): void {
    if (faults > MAX_REPEATED_FAULTS) {
      throw this.oops(new Error(`fault loop at ${formatAddress(cr2)}`));
    }
    const machine = this.machine;
    const resolve = () => process.space.handleFault(cr2, errorCode);
    let result = machine.enterKernel(resolve);
    // Reclaim gets one chance per access: what it frees can be the very page the access needs
    // (a COW break needs the page and its copy at once), and the access came back out of
    // memory: the OOM killer makes room then, as Linux's fault path does once reclaim made no
    // progress. Each round frees memory or kills a process, so this loop ends.
    let reclaimFirst = faults === 1;
    while (result === FaultResult.OUT_OF_MEMORY && this.outOfMemory(reclaimFirst)) {
      reclaimFirst = false;
      result = machine.enterKernel(resolve);
    }
    if (result === FaultResult.HANDLED) return;
    if (result === FaultResult.OUT_OF_MEMORY) machine.kill(process, SIGKILL, 'out of memory');
    const access = errorCode & PF_ID ? 'execute' : errorCode & PF_W ? 'write' : 'read';
    const kind = result === FaultResult.SEGV_MAPERR ? 'SEGV_MAPERR' : 'SEGV_ACCERR';
    this.killBySegv(process, cr2, kind, access, describePageFault(cr2, errorCode));
  }

  private killBySegv(
    process: Process,
    address: number,
    kind: FaultReport['kind'],
    access: FaultReport['access'],
    detail: string,
  ): never {
    process.fault = {
      address,
      kind,
      access,
      message: `${kind} at ${formatAddress(address)}: ${detail}`,
    };
    this.machine.writeStream(
      process.stderr,
      `${process.name}[${process.pid}]: segfault at ${formatAddress(address)} (${access}, ${kind})\n`,
    );
    return this.machine.kill(process, SIGSEGV);
  }
}

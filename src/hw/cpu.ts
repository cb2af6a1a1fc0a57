/**
 * The CPU state the MMU consults on every access (Intel SDM vol. 3, 2.5 and 4.1.3).
 *
 * Plain public fields, written directly by the kernel layers: `cpu.cpl = 3` is the simulated
 * `sysret`, `cpu.rflagsAc = true` is `stac`. Writing `cr3` directly does not flush the TLB; use
 * {@link Mmu.loadCr3} for what a `mov cr3` does.
 */
/** The privilege level of user mode (CPL 3); the kernel runs at 0. */
export const USER_CPL = 3;

export class Cpu {
  /** Physical address of the PML4 table (bits 12 and up; low bits ignored). */
  cr3 = 0;
  /** The faulting linear address of the last page fault. */
  cr2 = 0;
  /** CR0.WP: supervisor writes honour read-only pages. */
  cr0Wp = true;
  /** CR4.SMEP: supervisor instruction fetches from user pages fault. */
  cr4Smep = false;
  /** CR4.SMAP: supervisor data accesses to user pages fault unless RFLAGS.AC is set. */
  cr4Smap = false;
  /** EFER.NXE: the NX bit (63) of entries is honoured; when clear it is a reserved bit. */
  eferNxe = false;
  /** Current privilege level: 0 = kernel (supervisor), 3 = user. */
  cpl: 0 | 3 = 0;
  /** RFLAGS.AC: with SMAP, lets the kernel touch user pages (`stac` / `clac`). */
  rflagsAc = false;
}

/**
 * The visualizer page: boots a simulated machine in the browser, runs a workload a few
 * scheduler steps per animation frame, and redraws every view from the machine's state.
 *
 * The running state is on `window.wallos` so end-to-end tests can compare what the page shows
 * with what the simulator holds.
 */
import { formatAddress, parseAddress } from '../hw/address.js';
import { PAGE_SIZE } from '../hw/constants.js';
import { formatSize } from '../hw/size.js';
import type { Process } from '../kernel/process.js';
import { LabView } from './lab/lab-view.js';
import { freeListSeries } from './model/buddy-histogram.js';
import { CounterHistory } from './model/counters.js';
import { colourOf, labelOf, USER_CODE_FIRST, userCode } from './model/frame-colours.js';
import { describeFrame } from './model/frame-details.js';
import { SHARED_OWNER } from './model/frame-snapshot.js';
import { Simulation } from './model/simulation.js';
import { slabCacheViews } from './model/slab-view.js';
import { mappingsOf } from './model/user-leaves.js';
import { WEB_WORKLOADS } from './model/workloads.js';
import { BuddyChart, CounterChart } from './ui/charts.js';
import { byId, el } from './ui/dom.js';
import { FrameMapView } from './ui/frame-map.js';
import { renderHeap, renderSlabs, renderVmas, renderWalk } from './ui/panels.js';

/** Largest the frame map may be, in pixels (a 4 GiB machine needs 1024 × 1024 at 1 px a frame). */
const FRAME_MAP_WIDTH = 1024;
const FRAME_MAP_HEIGHT = 800;
const HOVER_HINT = 'hover over a frame; click a user page to walk the page tables to it';
/** Samples kept for the counter chart. */
const HISTORY = 400;
/** The panels (tables, charts) are redrawn at most this often while running, in ms. */
const PANEL_INTERVAL = 250;
/**
 * Simulation time per animation frame while running, in ms: what is left of a 60 Hz frame for
 * capturing and drawing (measured ~5 ms for 4 GiB), so the page stays smooth at any speed.
 */
const FRAME_BUDGET_MS = 10;
/** The speed slider's value v runs up to 2^v scheduler steps per animation frame. */
const SPEED_BASE = 2;

/** What the page exposes on `window.wallos`. */
export interface PageState {
  sim: Simulation;
  frameMap: FrameMapView;
  /** The process the address-space panels show. */
  selected: Process | undefined;
  /** The last address walked, or null before any walk. */
  walkAddress: number | null;
  /** Redraws happened since boot (a test waits for this to move). */
  redraws: number;
  running: boolean;
}

declare global {
  interface Window {
    wallos: PageState;
  }
}

class App {
  private state!: PageState;
  private readonly buddyChart = new BuddyChart(byId('buddy-chart'));
  private readonly counterChart = new CounterChart(byId('counter-chart'));
  private history = new CounterHistory(HISTORY);
  private lastPanels = 0;
  /** The pids the process list and legend were built for. */
  private processKey = '';

  constructor() {
    const workloads = byId<HTMLSelectElement>('workload');
    for (const w of WEB_WORKLOADS)
      workloads.append(new Option(`${w.name} — ${w.description}`, w.name));
    byId('boot').addEventListener('click', () => this.boot());
    byId('run').addEventListener('click', () => this.setRunning(!this.state.running));
    byId('step').addEventListener('click', () => this.advance(1));
    byId('speed').addEventListener('input', () => this.showSpeed());
    this.showSpeed();
    byId('process-select').addEventListener('change', (e) => {
      const pid = Number((e.target as HTMLSelectElement).value);
      this.state.selected = this.state.sim.machine.process(pid);
      this.drawPanels();
    });
    byId('walk-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const text = byId<HTMLInputElement>('walk-address').value.trim();
      try {
        this.walk(parseAddress(text));
      } catch (error) {
        byId('walk').textContent = error instanceof Error ? error.message : String(error);
      }
    });
    this.boot();
    requestAnimationFrame(this.tick);
  }

  /** Boots a new machine with the chosen memory, workload and seed. */
  boot(): void {
    const sim = new Simulation({
      memory: byId<HTMLSelectElement>('memory').value,
      workload: byId<HTMLSelectElement>('workload').value,
      seed: Number(byId<HTMLInputElement>('seed').value) | 0,
    });
    const frameMap = new FrameMapView(
      byId('frames'),
      byId('frame-overlay'),
      sim.snapshot.frames,
      FRAME_MAP_WIDTH,
      FRAME_MAP_HEIGHT,
    );
    this.bindHover(frameMap);
    byId('frame-details').textContent = HOVER_HINT;
    this.state = {
      sim,
      frameMap,
      selected: sim.processes[0],
      walkAddress: null,
      redraws: 0,
      running: false,
    };
    window.wallos = this.state;
    byId<HTMLInputElement>('walk-address').value = '';
    this.history = new CounterHistory(HISTORY);
    this.processKey = '';
    this.setRunning(false);
    this.redraw(true);
  }

  private bindHover(frameMap: FrameMapView): void {
    const overlay = byId<HTMLCanvasElement>('frame-overlay');
    overlay.onmousemove = (event) => {
      frameMap.hovered = frameMap.frameAtEvent(event);
      this.showFrame(frameMap.hovered);
      frameMap.drawOverlay(this.state.sim.snapshot);
    };
    overlay.onmouseleave = () => {
      frameMap.hovered = -1;
      frameMap.drawOverlay(this.state.sim.snapshot);
    };
    overlay.onclick = (event) => this.walkToFrame(frameMap.frameAtEvent(event));
  }

  private showFrame(pfn: number): void {
    const { sim } = this.state;
    byId('frame-details').textContent =
      pfn < 0 ? HOVER_HINT : describeFrame(sim.machine, sim.snapshot, pfn).join('\n');
  }

  private showSpeed(): void {
    const steps = SPEED_BASE ** Number(byId<HTMLInputElement>('speed').value);
    byId('speed-value').textContent = `≤ ${steps} steps a frame`;
  }

  private setRunning(running: boolean): void {
    this.state.running = running && !this.state.sim.finished;
    byId('run').textContent = this.state.running ? 'pause' : 'start';
  }

  private readonly tick = (): void => {
    if (this.state.running) {
      const speed = Number(byId<HTMLInputElement>('speed').value);
      this.advance(SPEED_BASE ** speed, FRAME_BUDGET_MS);
      if (this.state.sim.finished) this.setRunning(false);
    }
    requestAnimationFrame(this.tick);
  };

  /** Runs up to `steps` scheduler steps (for at most `budgetMs`) and redraws. */
  private advance(steps: number, budgetMs = Number.POSITIVE_INFINITY): void {
    this.state.sim.step(steps, budgetMs);
    this.redraw(!this.state.running);
  }

  private redraw(panelsNow: boolean): void {
    const { sim, frameMap } = this.state;
    frameMap.draw(sim.snapshot);
    this.history.push(sim.sample());
    const now = performance.now();
    if (panelsNow || now - this.lastPanels >= PANEL_INTERVAL) {
      this.lastPanels = now;
      this.drawPanels();
    }
    this.state.redraws++;
  }

  private drawPanels(): void {
    const { sim } = this.state;
    const machine = sim.machine;
    const stats = machine.frames.stats();
    byId('status').textContent =
      `step ${sim.steps} · ${sim.processes.length} processes${sim.finished ? ' · finished' : ''}`;
    byId('frame-summary').textContent =
      `${stats.totalFrames} frames (${formatSize(stats.totalFrames * PAGE_SIZE)}), ` +
      `${stats.freeFrames} free, ${this.state.frameMap.layout.columns} per row`;
    this.buddyChart.update(freeListSeries(stats));
    this.counterChart.update(this.history);
    renderSlabs(byId('slab-table'), slabCacheViews(machine.slab));
    this.drawProcess();
  }

  private drawProcess(): void {
    const { sim } = this.state;
    if (this.state.selected?.ended !== false) this.state.selected = sim.processes[0];
    const selected = this.state.selected;
    const processes = sim.processes;
    const key = processes.map((p) => p.pid).join(' ');
    if (key !== this.processKey) {
      // Rebuilt only when processes come or go, so an open drop-down is not closed under the user.
      this.processKey = key;
      byId<HTMLSelectElement>('process-select').replaceChildren(
        ...processes.map((p) => new Option(`${p.pid} ${p.name}`, String(p.pid))),
      );
      this.renderLegend(processes);
    }
    byId<HTMLSelectElement>('process-select').value = String(selected?.pid ?? '');
    renderVmas(byId('vmas'), selected, (va) => this.walk(va));
    renderHeap(
      byId('heap-summary'),
      byId('heap-canvas'),
      byId('heap-mapped'),
      sim.walker,
      selected,
      selected === undefined ? undefined : sim.heaps.get(selected.pid),
    );
    this.drawWalk();
  }

  /**
   * Shows how a user frame is reached: selects a process mapping it (the owner, or the first
   * sharer of a copy-on-write frame) and walks the virtual page that maps it.
   */
  walkToFrame(pfn: number): void {
    const { sim } = this.state;
    if (pfn < 0) return;
    const owner = sim.snapshot.owners[pfn]!;
    for (const process of sim.processes) {
      if (owner !== SHARED_OWNER && owner !== process.pid) continue;
      const [va] = mappingsOf(sim.machine.ram, process, pfn);
      if (va === undefined) continue;
      this.state.selected = process;
      this.drawProcess();
      this.walk(va);
      return;
    }
  }

  /** Walks `va` in the selected process and shows it. */
  walk(va: number): void {
    this.state.walkAddress = va;
    byId<HTMLInputElement>('walk-address').value = formatAddress(va);
    this.drawWalk();
  }

  private drawWalk(): void {
    const { sim, selected, walkAddress, frameMap } = this.state;
    if (walkAddress === null) {
      byId('walk').textContent = 'click a VMA or enter an address to walk its page tables';
      frameMap.marked = -1;
      return;
    }
    // With no process left, the walk goes through the kernel's own tables (the direct map…).
    const walk = sim.walker.walk(selected ?? null, walkAddress);
    renderWalk(byId('walk'), walk);
    frameMap.marked =
      walk.physicalAddress === undefined ? -1 : Math.floor(walk.physicalAddress / PAGE_SIZE);
    frameMap.drawOverlay(sim.snapshot);
  }

  /** The legend: every fixed use, then the user-page colour of each live process. */
  private renderLegend(processes: readonly Process[]): void {
    const swatch = (label: string, code: number): HTMLElement => {
      const item = el('li', null, label);
      item.style.setProperty('--swatch', colourOf(code));
      return item;
    };
    const fixed = Array.from({ length: USER_CODE_FIRST }, (_, code) => swatch(labelOf(code), code));
    const own = processes.map((p) => swatch(`pid ${p.pid} ${p.name}`, userCode(p.pid)));
    byId('legend').replaceChildren(...fixed, ...own);
  }
}

new App();
new LabView(byId('lab'));

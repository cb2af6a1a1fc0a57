/**
 * The visualizer page: boots a simulated machine in the browser, runs a workload step by step,
 * records every step as a moment of the timeline, and draws every panel from the one moment
 * shown: the latest while the run goes on, or any earlier one the timeline slider went back to.
 *
 * ```
 *  controls ─► App.boot / run / step ─► Simulation.step(1) ─► captureMoment ─► Timeline
 *                                                                                 │
 *  slider ─► shown index ──────────────────────────────────────► render(moment) ◄─┘
 *                                   frame map · charts · VMAs · walk · heap · slabs · views
 * ```
 *
 * The state is on `window.wallos` so end-to-end tests can compare what the page shows with
 * what the simulator holds.
 */
import { formatAddress, parseAddress } from '../hw/address.js';
import { PAGE_SIZE } from '../hw/constants.js';
import { formatSize } from '../hw/size.js';
import { orderMeaning } from './model/explain.js';
import { colourOf, FrameCode, labelOf, USER_CODE_FIRST, userCode } from './model/frame-colours.js';
import { describeFrame } from './model/frame-details.js';
import { FrameSnapshot, SHARED_OWNER } from './model/frame-snapshot.js';
import {
  captureMoment,
  type Moment,
  type ProcessView,
  type WalkRequest,
  type WalkView,
  walkView,
} from './model/moment.js';
import { Simulation, type SimulationOptions } from './model/simulation.js';
import { Timeline } from './model/timeline.js';
import { mappingsOf } from './model/user-leaves.js';
import { WEB_WORKLOADS } from './model/workloads.js';
import { BuddyChart, CounterCharts } from './ui/charts.js';
import { byId, el } from './ui/dom.js';
import { FrameMapView, ZOOM_STEP } from './ui/frame-map.js';
import { renderHeap, renderSlabs, renderSwap, renderVmas, renderWalk } from './ui/panels.js';
import { registeredViews } from './views/index.js';

/** Largest the frame map may be, in pixels (a 4 GiB machine needs 1024 × 1024 at 1 px a frame). */
const FRAME_MAP_WIDTH = 1024;
const FRAME_MAP_HEIGHT = 1024;
const HOVER_HINT = 'hover over a frame; click a user page to walk the page tables to it';
const WALK_HINT = 'click a VMA or a user frame, or enter an address, to walk its page tables';
/** Moments the timeline keeps at most (then every other one is dropped). */
const TIMELINE_CAPACITY = 2000;
/**
 * Simulation time per animation frame while running, in ms: what is left of a 60 Hz frame for
 * capturing and drawing, so the page stays smooth at any speed.
 */
const FRAME_BUDGET_MS = 10;
/** The speed slider's value v runs up to 2^v scheduler steps per animation frame. */
const SPEED_BASE = 2;

/** What the page exposes on `window.wallos`. */
export interface PageState {
  /** The live run. */
  sim: Simulation;
  timeline: Timeline;
  frameMap: FrameMapView;
  /** Index of the moment shown in the timeline. */
  shownIndex: number;
  /** The moment shown and its frames. */
  moment: Moment;
  frames: FrameSnapshot;
  /** The process the address-space panels show, by pid (null: none left). */
  selectedPid: number | null;
  /** The last address walked, or null before any walk. */
  walkAddress: number | null;
  /** The walk shown, or null. */
  walk: WalkView | null;
  /** Renders since boot (a test waits for this to move). */
  redraws: number;
  running: boolean;
  counterCharts: CounterCharts;
}

declare global {
  interface Window {
    wallos: PageState;
  }
}

class App {
  private state!: PageState;
  private readonly buddyChart = new BuddyChart(byId('buddy-chart'));
  private readonly counterCharts = new CounterCharts(byId('counter-charts'));
  /** True while the shown moment follows the latest one. */
  private following = true;
  /** A second machine replayed to a moment of the past, for walks there (built on demand). */
  private replica: Simulation | null = null;
  /** What the legend and process list were built for. */
  private processKey = '';
  private readonly frameMap = new FrameMapView(
    {
      viewport: byId('frame-viewport'),
      stage: byId('frame-stage'),
      canvas: byId('frames'),
      overlay: byId('frame-overlay'),
    },
    1,
    FRAME_MAP_WIDTH,
    FRAME_MAP_HEIGHT,
    { hover: (pfn) => this.showFrame(pfn), pick: (pfn) => this.walkToFrame(pfn) },
  );

  constructor() {
    const workloads = byId<HTMLSelectElement>('workload');
    for (const w of WEB_WORKLOADS)
      workloads.append(new Option(`${w.name} — ${w.description}`, w.name));
    this.bindControls();
    this.mountViews();
    this.boot();
    requestAnimationFrame(this.tick);
  }

  private bindControls(): void {
    // A changed choice boots a machine with it at once: the controls always show what runs.
    for (const id of ['memory', 'workload', 'seed']) {
      byId(id).addEventListener('change', () => this.boot());
    }
    byId('boot').addEventListener('click', () => this.boot());
    byId('run').addEventListener('click', () => this.setRunning(!this.state.running));
    byId('step').addEventListener('click', () => this.stepOnce());
    byId('speed').addEventListener('input', () => this.showSpeed());
    this.showSpeed();
    byId('timeline').addEventListener('input', (e) => {
      const index = Number((e.target as HTMLInputElement).value);
      this.state.running = false;
      this.show(index);
      this.setRunning(false);
    });
    byId('live').addEventListener('click', () => this.show(this.state.timeline.length - 1));
    byId('fold').addEventListener('change', () => this.render());
    byId('colour-by').addEventListener('change', () => this.render());
    byId('zoom-in').addEventListener('click', () => this.state.frameMap.zoomBy(ZOOM_STEP));
    byId('zoom-out').addEventListener('click', () => this.state.frameMap.zoomBy(1 / ZOOM_STEP));
    byId('zoom-reset').addEventListener('click', () => this.state.frameMap.resetView());
    window.addEventListener('resize', () => this.frameMap.fit());
    byId('process-select').addEventListener('change', (e) => {
      this.state.selectedPid = Number((e.target as HTMLSelectElement).value);
      this.render();
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
  }

  /** The choice the controls show. */
  private choice(): SimulationOptions {
    return {
      memory: byId<HTMLSelectElement>('memory').value,
      workload: byId<HTMLSelectElement>('workload').value,
      seed: Number(byId<HTMLInputElement>('seed').value) | 0,
    };
  }

  /** Boots a new machine with the chosen memory, workload and seed; records its first moment. */
  boot(): void {
    const sim = new Simulation(this.choice());
    const frameMap = this.frameMap;
    frameMap.reset(sim.snapshot.frames);
    byId('frame-details').textContent = HOVER_HINT;
    const timeline = new Timeline(TIMELINE_CAPACITY);
    this.state = {
      sim,
      timeline,
      frameMap,
      shownIndex: 0,
      moment: captureMoment(sim, null),
      frames: sim.snapshot,
      selectedPid: sim.processes[0]?.pid ?? null,
      walkAddress: null,
      walk: null,
      redraws: 0,
      running: false,
      counterCharts: this.counterCharts,
    };
    timeline.record(this.state.moment, sim.snapshot);
    window.wallos = this.state;
    this.replica = null;
    this.following = true;
    this.processKey = '';
    byId<HTMLInputElement>('walk-address').value = '';
    this.setRunning(false);
  }

  private showSpeed(): void {
    const steps = SPEED_BASE ** Number(byId<HTMLInputElement>('speed').value);
    byId('speed-value').textContent = `≤ ${steps} steps a frame`;
  }

  private setRunning(running: boolean): void {
    const finished = this.state.sim.finished;
    this.state.running = running && !finished;
    if (this.state.running) this.following = true;
    const button = byId<HTMLButtonElement>('run');
    button.textContent = this.state.running ? 'pause' : finished ? 'finished' : 'start';
    button.disabled = finished;
    byId<HTMLButtonElement>('step').disabled = finished;
    this.render();
  }

  private readonly tick = (): void => {
    if (this.state.running) {
      const speed = Number(byId<HTMLInputElement>('speed').value);
      this.advance(SPEED_BASE ** speed, FRAME_BUDGET_MS);
      if (this.state.sim.finished) this.setRunning(false);
      else this.render();
    }
    requestAnimationFrame(this.tick);
  };

  private stepOnce(): void {
    this.following = true;
    this.advance(1, Number.POSITIVE_INFINITY);
    if (this.state.sim.finished) this.setRunning(false);
    else this.render();
  }

  /** Runs up to `steps` scheduler steps for at most `budgetMs`, recording a moment after each. */
  private advance(steps: number, budgetMs: number): void {
    const { sim, timeline } = this.state;
    const deadline = performance.now() + budgetMs;
    for (let i = 0; i < steps && !sim.finished; i++) {
      if (i > 0 && performance.now() >= deadline) break;
      sim.step(1);
      timeline.record(captureMoment(sim, this.walkRequest()), sim.snapshot);
    }
  }

  private walkRequest(): WalkRequest | null {
    const { walkAddress, selectedPid } = this.state;
    return walkAddress === null ? null : { pid: selectedPid, address: walkAddress };
  }

  /** Shows moment `index` of the timeline (the last one: follow the run). */
  private show(index: number): void {
    this.following = index >= this.state.timeline.length - 1;
    this.state.shownIndex = index;
    this.render();
  }

  /** Draws every panel from the moment shown. */
  render(): void {
    const state = this.state;
    const { sim, timeline } = state;
    const last = timeline.length - 1;
    const index = this.following ? last : Math.min(state.shownIndex, last);
    const live = index === last;
    state.shownIndex = index;
    state.moment = timeline.moment(index);
    if (live) state.frames = sim.snapshot;
    else {
      const frames = new FrameSnapshot(sim.snapshot.frames);
      timeline.framesAt(index, frames);
      state.frames = frames;
    }
    const moment = state.moment;
    const selected = this.selectedProcess(moment);
    state.selectedPid = selected?.pid ?? null;
    this.renderStatus(moment, live, last);
    state.frameMap.draw(
      state.frames,
      byId<HTMLInputElement>('fold').checked,
      byId<HTMLSelectElement>('colour-by').value === 'lru',
    );
    this.buddyChart.update(moment.buddy);
    this.counterCharts.update(
      timeline.countersUpTo(index),
      timeline.moment(last).step,
      moment.swap !== null,
    );
    renderSwap(byId('swap'), byId('swap-summary'), byId('swap-canvas'), moment.swap);
    renderSlabs(byId('slab-table'), moment.slabs);
    this.renderProcesses(moment, selected);
    renderVmas(byId('vmas'), selected, (va) => this.walk(va));
    renderHeap(byId('heap-summary'), byId('heap-canvas'), byId('heap-mapped'), selected?.heap);
    this.renderWalk(moment, live);
    if (state.frameMap.hovered >= 0) this.showFrame(state.frameMap.hovered);
    for (const view of registeredViews()) view.render({ sim, moment, live });
    state.redraws++;
  }

  private selectedProcess(moment: Moment): ProcessView | undefined {
    const pid = this.state.selectedPid;
    return moment.processes.find((p) => p.pid === pid) ?? moment.processes[0];
  }

  private renderStatus(moment: Moment, live: boolean, last: number): void {
    const { sim, timeline, shownIndex } = this.state;
    const processes = `${moment.processes.length} process${moment.processes.length === 1 ? '' : 'es'}`;
    const end = moment.finished ? ' · finished' : '';
    const past = live ? '' : ` · back in time (latest: step ${timeline.moment(last).step})`;
    byId('status').textContent = `step ${moment.step} · ${processes}${end}${past}`;
    byId('status').dataset.finished = String(moment.finished);
    byId('frame-summary').textContent =
      `${moment.totalFrames} frames (${formatSize(moment.totalFrames * PAGE_SIZE)}), ` +
      `${moment.freeFrames} free`;
    const slider = byId<HTMLInputElement>('timeline');
    slider.max = String(last);
    slider.value = String(shownIndex);
    slider.setAttribute('aria-valuetext', `step ${moment.step}`);
    byId('timeline-label').textContent =
      `step ${moment.step} of ${timeline.moment(last).step}` +
      (sim.finished ? ' (run finished)' : '');
    byId<HTMLButtonElement>('live').disabled = live;
  }

  /** The process drop-down and the legend, rebuilt only when processes come or go. */
  private renderProcesses(moment: Moment, selected: ProcessView | undefined): void {
    const byLru = byId<HTMLSelectElement>('colour-by').value === 'lru';
    const key = `${byLru} ${moment.processes.map((p) => `${p.pid}:${p.name}`).join(' ')}`;
    const select = byId<HTMLSelectElement>('process-select');
    if (key !== this.processKey) {
      // Rebuilt only on a change, so an open drop-down is not closed under the user.
      this.processKey = key;
      select.replaceChildren(
        ...moment.processes.map((p) => new Option(`${p.pid} ${p.name}`, String(p.pid))),
      );
      this.renderLegend(moment.processes, byLru);
    }
    select.value = String(selected?.pid ?? '');
  }

  private renderWalk(moment: Moment, live: boolean): void {
    const state = this.state;
    const request = this.walkRequest();
    if (request === null) {
      byId('walk').textContent = WALK_HINT;
      state.walk = null;
      state.frameMap.marked = -1;
      state.frameMap.drawOverlay();
      return;
    }
    state.walk = live
      ? walkView(state.sim, request)
      : sameWalk(moment.walk, request)
        ? moment.walk!
        : walkView(this.replicaAt(moment.step), request);
    renderWalk(byId('walk'), state.walk);
    const pa = state.walk.walk.physicalAddress;
    state.frameMap.marked = pa === undefined ? -1 : Math.floor(pa / PAGE_SIZE);
    state.frameMap.drawOverlay();
  }

  /** A machine at `step` of this run: the live one, or a replica replayed to it. */
  private replicaAt(step: number): Simulation {
    const { sim } = this.state;
    if (step === sim.steps) return sim;
    if (this.replica === null || this.replica.steps > step) {
      this.replica = Simulation.replayed(sim.options, step);
    } else if (this.replica.steps < step) {
      this.replica.step(step - this.replica.steps);
    }
    return this.replica;
  }

  private showFrame(pfn: number): void {
    const { sim, frames, moment, frameMap, shownIndex, timeline } = this.state;
    const details = byId('frame-details');
    if (pfn < 0) {
      details.textContent = HOVER_HINT;
      return;
    }
    const cell = frameMap.cellOf(pfn);
    const run = frameMap.fold?.frameCount[cell] ?? 1;
    if (run > 1) {
      details.textContent = `${run} free frames folded (frames ${pfn}…${pfn + run - 1}): untick “fold free runs” to see them`;
      return;
    }
    const live = shownIndex === timeline.length - 1;
    const names = (pid: number) => moment.processes.find((p) => p.pid === pid)?.name;
    // In the past, a replica already replayed to this moment (for a walk) tells as much as the
    // live machine; without one the snapshot alone speaks (no replay on a mere hover).
    const replica = this.replica?.steps === moment.step ? this.replica : null;
    const machine = live ? sim.machine : (replica?.machine ?? null);
    const lines = describeFrame(machine, frames, pfn, names);
    const order = frames.blockOf(pfn, 10)?.[1];
    if (order !== undefined) lines.push(orderMeaning(order));
    details.textContent = lines.join('\n');
  }

  /**
   * Shows how a user frame is reached: selects a process mapping it (the owner, or the first
   * sharer of a copy-on-write frame) and walks the virtual page that maps it.
   */
  walkToFrame(pfn: number): void {
    const { frames, moment } = this.state;
    if (pfn < 0) return;
    const owner = frames.owners[pfn]!;
    if (owner === 0) return;
    const machineSim = this.replicaAt(moment.step);
    for (const view of moment.processes) {
      if (owner !== SHARED_OWNER && owner !== view.pid) continue;
      const process = machineSim.machine.process(view.pid);
      if (process === undefined || process.ended) continue;
      const [va] = mappingsOf(machineSim.machine.ram, process, pfn);
      if (va === undefined) continue;
      this.state.selectedPid = view.pid;
      this.walk(va);
      return;
    }
  }

  /** Walks `va` in the selected process and shows it. */
  walk(va: number): void {
    this.state.walkAddress = va;
    byId<HTMLInputElement>('walk-address').value = formatAddress(va);
    this.render();
  }

  /**
   * The legend: every fixed use (the LRU lists only when user pages are coloured by them),
   * then the user-page colour of each live process.
   */
  private renderLegend(processes: readonly ProcessView[], byLru: boolean): void {
    const swatch = (label: string, code: number): HTMLElement => {
      const item = el('li', null, label);
      item.style.setProperty('--swatch', colourOf(code));
      return item;
    };
    const lruCodes = [
      FrameCode.LRU_INACTIVE,
      FrameCode.LRU_ACTIVE,
      FrameCode.UNEVICTABLE,
      FrameCode.SWAP_CACHE,
    ] as number[];
    const fixed = Array.from({ length: USER_CODE_FIRST }, (_, code) => code)
      .filter((code) => byLru || !lruCodes.includes(code))
      .map((code) => swatch(labelOf(code), code));
    const own = processes.map((p) => swatch(`pid ${p.pid} ${p.name}`, userCode(p.pid)));
    byId('legend').replaceChildren(...fixed, ...own);
  }

  /** A tab per view: the machine view first, then every registered one. */
  private mountViews(): void {
    const tabs = byId('view-tabs');
    const sections = [{ id: 'machine', title: 'Machine', root: byId('view-machine') }];
    for (const view of registeredViews()) {
      const root = el('div', 'view');
      root.id = `view-${view.id}`;
      root.hidden = true;
      byId('views').append(root);
      view.mount(root);
      sections.push({ id: view.id, title: view.title, root });
    }
    const buttons = sections.map((section) => {
      const button = el('button', 'tab', section.title);
      button.type = 'button';
      button.setAttribute('role', 'tab');
      button.dataset.view = section.id;
      button.addEventListener('click', () => {
        for (const [i, s] of sections.entries()) {
          s.root.hidden = s !== section;
          buttons[i]!.setAttribute('aria-selected', String(s === section));
        }
      });
      return button;
    });
    buttons[0]!.setAttribute('aria-selected', 'true');
    tabs.replaceChildren(...buttons);
    tabs.hidden = sections.length === 1;
  }
}

/** Whether a recorded walk answers `request`. */
function sameWalk(walk: WalkView | null, request: WalkRequest): boolean {
  return walk !== null && walk.pid === request.pid && walk.address === request.address;
}

new App();

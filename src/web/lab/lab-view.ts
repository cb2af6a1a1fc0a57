/**
 * The page-replacement lab section: pick a sample trace or drop a file, choose policies and
 * memory sizes, and see each policy's miss ratio against memory (Chart.js), OPT dashed with the
 * misses no policy can avoid shaded beneath it. Replays run in a Web Worker.
 *
 * The last answer is on `window.wallosLab` for end-to-end tests.
 */
import {
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import { POLICY_COLOURS } from '../../replacement/miss-ratio-svg.js';
import { POLICY_NAMES, type PolicyName } from '../../replacement/policy.js';
import { CHART_GRID, CHART_TEXT } from '../ui/chart-theme.js';
import { el } from '../ui/dom.js';
import {
  curveSeries,
  LAB_SAMPLES,
  type LabAnswer,
  type LabRequest,
  traceBytes,
} from './lab-model.js';

Chart.register(Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);

/** OPT is black on the SVG's white; on this dark page it is drawn in the text colour. */
const OPT_ON_DARK = '#d8dce3';
const OPT_FLOOR_FILL = 'rgba(216, 220, 227, 0.08)';
/** A linear Chart.js axis titled `title`, in the page's colours. */
function linearAxis(title: string) {
  return {
    type: 'linear' as const,
    title: { display: true, text: title, color: CHART_TEXT },
    ticks: { color: CHART_TEXT },
    grid: { color: CHART_GRID },
  };
}

/** What the lab exposes on `window.wallosLab`. */
export interface LabState {
  /** The last answer of the worker, null before the first. */
  answer: LabAnswer | null;
  /** Answers received so far (a test waits for this to move). */
  answers: number;
}

declare global {
  interface Window {
    wallosLab: LabState;
  }
}

/** The lab section inside `container`. */
export class LabView {
  private readonly state: LabState = { answer: null, answers: 0 };
  private readonly worker = new Worker(new URL('./lab-worker.ts', import.meta.url), {
    type: 'module',
  });
  private readonly sample = el('select', null);
  private readonly file = el('input', null);
  private readonly frames = el('input', null);
  private readonly policies = new Map<PolicyName, HTMLInputElement>();
  private readonly status = el('span', 'lab-status');
  private readonly summary = el('p', 'lab-summary');
  private readonly chart: Chart<'line', { x: number; y: number }[]>;
  /** A dropped or chosen file, used instead of the sample until another sample is picked. */
  private dropped: { name: string; bytes: Uint8Array } | null = null;

  constructor(container: HTMLElement) {
    window.wallosLab = this.state;
    const canvas = el('canvas', null);
    container.replaceChildren(
      el(
        'h2',
        null,
        'Page-replacement lab ',
        el('small', null, 'miss ratio against memory; OPT is the floor'),
      ),
      this.controls(),
      el('div', 'chart lab-chart', canvas),
      this.summary,
    );
    this.chart = new Chart(canvas, {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: false,
        scales: { x: linearAxis('frames'), y: { ...linearAxis('miss ratio'), min: 0 } },
        plugins: { legend: { labels: { color: CHART_TEXT } } },
      },
    });
    this.worker.onmessage = (event: MessageEvent<LabAnswer>) => this.show(event.data);
    this.dropTarget(container);
    void this.plot();
  }

  private controls(): HTMLElement {
    for (const sample of LAB_SAMPLES)
      this.sample.append(new Option(sample.description, sample.name));
    this.sample.id = 'lab-sample';
    this.sample.addEventListener('change', () => {
      this.dropped = null;
      this.frames.value = this.chosenSample().frames;
      void this.plot();
    });
    this.file.type = 'file';
    this.file.id = 'lab-file';
    this.file.addEventListener('change', () => {
      const chosen = this.file.files?.[0];
      if (chosen !== undefined) void this.load(chosen);
    });
    this.frames.id = 'lab-frames';
    this.frames.size = 16;
    this.frames.placeholder = '20 sizes';
    this.frames.value = LAB_SAMPLES[0]!.frames;
    const boxes = POLICY_NAMES.map((policy) => {
      const box = el('input', null);
      box.type = 'checkbox';
      box.checked = true;
      box.value = policy;
      this.policies.set(policy, box);
      return el('label', null, box, policy);
    });
    const plot = el('button', null, 'plot');
    plot.type = 'submit';
    plot.id = 'lab-plot';
    const form = el(
      'form',
      'lab-controls',
      el('label', null, 'trace ', this.sample),
      el('label', null, 'or a file (drop it here) ', this.file),
      ...boxes,
      el('label', null, 'frames ', this.frames),
      plot,
      this.status,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.plot();
    });
    return form;
  }

  private dropTarget(container: HTMLElement): void {
    container.addEventListener('dragover', (event) => event.preventDefault());
    container.addEventListener('drop', (event) => {
      event.preventDefault();
      const dropped = event.dataTransfer?.files[0];
      if (dropped !== undefined) void this.load(dropped);
    });
  }

  private chosenSample() {
    return LAB_SAMPLES.find((sample) => sample.name === this.sample.value) ?? LAB_SAMPLES[0]!;
  }

  private async load(file: File): Promise<void> {
    this.dropped = {
      name: file.name,
      bytes: await traceBytes(new Uint8Array(await file.arrayBuffer())),
    };
    this.frames.value = ''; // a new trace: the default curve over its pages, until sizes are typed
    void this.plot();
  }

  private async traceRequested(): Promise<{ name: string; bytes: Uint8Array }> {
    if (this.dropped !== null) return this.dropped;
    const sample = this.chosenSample();
    const bytes =
      typeof sample.source === 'string'
        ? new TextEncoder().encode(sample.source)
        : new Uint8Array(await (await fetch(sample.source)).arrayBuffer());
    return { name: sample.name, bytes };
  }

  private async plot(): Promise<void> {
    const { name, bytes } = await this.traceRequested();
    const policies = POLICY_NAMES.filter((policy) => this.policies.get(policy)!.checked);
    const request: LabRequest = { bytes, policies, frames: this.frames.value };
    this.status.textContent = `replaying ${name}…`;
    this.worker.postMessage(request);
  }

  private show(answer: LabAnswer): void {
    this.state.answer = answer;
    this.state.answers++;
    if (!answer.ok) {
      this.status.textContent = answer.error;
      return;
    }
    this.status.textContent = `${answer.refs.toLocaleString('en-US')} references, ${answer.distinct.toLocaleString('en-US')} distinct pages`;
    this.frames.value = answer.frames;
    this.chart.data.datasets = curveSeries(answer.results).map(({ policy, points }) => {
      const colour = policy === 'opt' ? OPT_ON_DARK : POLICY_COLOURS[policy];
      return {
        label: policy === 'opt' ? 'opt (the floor)' : policy,
        data: points,
        borderColor: colour,
        backgroundColor: policy === 'opt' ? OPT_FLOOR_FILL : colour,
        borderDash: policy === 'opt' ? [6, 4] : [],
        fill: policy === 'opt' ? 'origin' : false,
        pointRadius: points.length > 60 ? 0 : 2,
      };
    });
    this.chart.update();
    this.summary.textContent =
      answer.anomalies.length === 0
        ? ''
        : `Belady's anomaly: FIFO misses more with more memory at ${answer.anomalies
            .map(
              (a) =>
                `${a.smaller} → ${a.larger} frames (${a.missesSmaller} → ${a.missesLarger} misses)`,
            )
            .join(', ')}.`;
  }
}

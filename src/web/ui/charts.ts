/** The charts, drawn by Chart.js: the buddy free lists and the counters over time. */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import { KiB, MiB } from '../../hw/constants.js';
import { orderLabels, type ZoneSeries } from '../model/buddy-histogram.js';
import { type CounterSample, perStep, seriesRange } from '../model/counters.js';
import { orderMeaning } from '../model/explain.js';
import { CHART_GRID, CHART_TEXT } from './chart-theme.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);

const ZONE_COLOURS: Record<string, string> = {
  DMA: '#b07cd8',
  DMA32: '#5bc0de',
  Normal: '#7fc97f',
};

function axes(extra: Record<string, unknown> = {}) {
  return {
    x: { ticks: { color: CHART_TEXT }, grid: { color: CHART_GRID } },
    y: { ticks: { color: CHART_TEXT }, grid: { color: CHART_GRID }, beginAtZero: true },
    ...extra,
  };
}

/** Free blocks per order, one bar series per zone. */
export class BuddyChart {
  private readonly chart: Chart<'bar'>;

  constructor(canvas: HTMLCanvasElement) {
    this.chart = new Chart(canvas, {
      type: 'bar',
      data: { labels: orderLabels(), datasets: [] },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: axes(),
        plugins: {
          legend: { labels: { color: CHART_TEXT } },
          // Hovering a bar says what its order means, beside the count.
          tooltip: {
            callbacks: { afterTitle: (items) => orderMeaning(items[0]!.dataIndex).split('; ') },
          },
        },
      },
    });
  }

  update(series: readonly ZoneSeries[]): void {
    const data = this.chart.data;
    data.datasets = series.map((zone, i) => {
      const dataset = data.datasets[i] ?? { label: zone.zone, data: [] };
      dataset.label = `${zone.zone} (${zone.freeFrames} free frames)`;
      dataset.data = [...zone.blocks];
      dataset.backgroundColor = ZONE_COLOURS[zone.zone] ?? CHART_TEXT;
      return dataset;
    });
    this.chart.update('none');
  }
}

/** One counter drawn over time: which sample field, its name, colour and unit. */
export interface CounterSeries {
  readonly key: keyof CounterSample;
  readonly label: string;
  readonly colour: string;
  /** Divides the raw value for display (bytes → MiB), and names the unit. */
  readonly divisor: number;
  readonly unit: string;
  /** What the counter is, for the chart's tooltip. */
  readonly explanation: string;
  /** Drawn as its change per step (a rate), not its running total. */
  readonly rate?: boolean;
  /** Only drawn for a machine with swap (without, it is 0 for ever). */
  readonly swapOnly?: boolean;
}

/** The counters the page charts, each on its own scale. */
export const COUNTER_SERIES: readonly CounterSeries[] = [
  {
    key: 'freeBytes',
    label: 'free',
    colour: '#7fc97f',
    divisor: MiB,
    unit: 'MiB',
    explanation: 'free memory: frames on the buddy free lists (meminfo MemFree)',
  },
  {
    key: 'rssBytes',
    label: 'RSS',
    colour: '#5bc0de',
    divisor: MiB,
    unit: 'MiB',
    explanation: 'resident set of every live process together: user pages mapped to frames',
  },
  {
    key: 'slabBytes',
    label: 'slab',
    colour: '#f0ad4e',
    divisor: KiB,
    unit: 'KiB',
    explanation: 'memory of the kernel slab caches (meminfo Slab)',
  },
  {
    key: 'faults',
    label: 'page faults',
    colour: '#d9534f',
    divisor: 1,
    unit: '',
    explanation: 'page faults since boot (vmstat pgfault), copy-on-write breaks included',
  },
  {
    key: 'cowFaults',
    label: 'COW breaks',
    colour: '#e78ac3',
    divisor: 1,
    unit: '',
    explanation: 'copy-on-write faults since boot: a write to a shared page copied it',
  },
  {
    key: 'swapOuts',
    label: 'swap-outs (so) per step',
    colour: '#c9a0ff',
    divisor: 1,
    unit: 'pages',
    explanation: 'pages written to the swap device per step (vmstat pswpout): reclaim evicting',
    rate: true,
    swapOnly: true,
  },
  {
    key: 'swapIns',
    label: 'swap-ins (si) per step',
    colour: '#7fe07f',
    divisor: 1,
    unit: 'pages',
    explanation: 'pages read back from swap per step (vmstat pswpin): major faults',
    rate: true,
    swapOnly: true,
  },
  {
    key: 'scanned',
    label: 'pages scanned per step',
    colour: '#6f8fb8',
    divisor: 1,
    unit: 'pages',
    explanation: 'pages reclaim looked at per step, kswapd and direct (vmstat pgscan_*)',
    rate: true,
    swapOnly: true,
  },
];

/** The counters over steps: one small chart per series, each with a y axis of its own. */
export class CounterCharts {
  private readonly charts: Chart<'line', { x: number; y: number }[]>[];
  private readonly titles: HTMLElement[];
  private readonly boxes: HTMLElement[] = [];

  constructor(
    container: HTMLElement,
    readonly series: readonly CounterSeries[] = COUNTER_SERIES,
  ) {
    this.titles = [];
    this.charts = series.map((spec) => {
      const title = document.createElement('div');
      title.className = 'mini-title';
      title.title = spec.explanation;
      title.style.setProperty('--swatch', spec.colour);
      const box = document.createElement('div');
      box.className = 'mini-chart';
      box.dataset.series = spec.key;
      const canvas = document.createElement('canvas');
      box.append(canvas);
      container.append(title, box);
      this.titles.push(title);
      this.boxes.push(box);
      return new Chart(canvas, {
        type: 'line',
        data: {
          datasets: [
            {
              label: spec.label,
              data: [],
              borderColor: spec.colour,
              backgroundColor: spec.colour,
              pointRadius: 0,
              borderWidth: 1.5,
            },
          ],
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          plugins: { legend: { display: false }, tooltip: { intersect: false, mode: 'index' } },
          scales: {
            x: {
              type: 'linear',
              ticks: { color: CHART_TEXT, maxTicksLimit: 6 },
              grid: { color: CHART_GRID },
            },
            y: { ticks: { color: CHART_TEXT, maxTicksLimit: 3 }, grid: { color: CHART_GRID } },
          },
        },
      });
    });
  }

  /** Draws `samples` (oldest first); the x axis runs to `lastStep`; swap series if `swap`. */
  update(samples: readonly CounterSample[], lastStep: number, swap: boolean): void {
    this.series.forEach((spec, i) => {
      const shown = swap || spec.swapOnly !== true;
      this.titles[i]!.hidden = !shown;
      this.boxes[i]!.hidden = !shown;
      if (!shown) return;
      const chart = this.charts[i]!;
      const values = spec.rate ? perStep(samples, spec.key) : samples.map((s) => s[spec.key]);
      const points = samples.map((s, k) => ({ x: s.step, y: values[k]! / spec.divisor }));
      const range = seriesRange(points.map((p) => p.y));
      chart.data.datasets[0]!.data = points;
      const scales = chart.options.scales!;
      scales.x!.min = samples[0]?.step ?? 0;
      scales.x!.max = Math.max(lastStep, (samples[0]?.step ?? 0) + 1);
      scales.y!.min = range.min;
      scales.y!.max = range.max;
      chart.update('none');
      const now = points[points.length - 1]?.y ?? 0;
      this.titles[i]!.textContent =
        `${spec.label}: ${formatValue(now)}${spec.unit === '' ? '' : ` ${spec.unit}`}`;
    });
  }

  /** The y range each chart shows now, by series key (for tests). */
  ranges(): Record<string, { min: number; max: number }> {
    const out: Record<string, { min: number; max: number }> = {};
    this.series.forEach((spec, i) => {
      const y = this.charts[i]!.scales.y!;
      out[spec.key] = { min: y.min, max: y.max };
    });
    return out;
  }
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(1);
}

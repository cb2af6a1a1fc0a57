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
import { orderLabels, type ZoneSeries } from '../model/buddy-histogram.js';
import type { CounterHistory } from '../model/counters.js';

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
const TEXT = '#8a919e';
const GRID = '#262b34';
const MiB_BYTES = 1024 * 1024;

function axes(extra: Record<string, unknown> = {}) {
  return {
    x: { ticks: { color: TEXT }, grid: { color: GRID } },
    y: { ticks: { color: TEXT }, grid: { color: GRID }, beginAtZero: true },
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
        plugins: { legend: { labels: { color: TEXT } } },
      },
    });
  }

  update(series: readonly ZoneSeries[]): void {
    const data = this.chart.data;
    data.datasets = series.map((zone, i) => {
      const dataset = data.datasets[i] ?? { label: zone.zone, data: [] };
      dataset.label = `${zone.zone} (${zone.freeFrames} free frames)`;
      dataset.data = [...zone.blocks];
      dataset.backgroundColor = ZONE_COLOURS[zone.zone] ?? TEXT;
      return dataset;
    });
    this.chart.update('none');
  }
}

/** Free memory, RSS and slab in MiB (left axis), page faults (right axis), over steps. */
export class CounterChart {
  private readonly chart: Chart<'line', { x: number; y: number }[]>;

  constructor(canvas: HTMLCanvasElement) {
    const line = (label: string, colour: string, yAxisID = 'y') => ({
      label,
      data: [] as { x: number; y: number }[],
      borderColor: colour,
      backgroundColor: colour,
      pointRadius: 0,
      borderWidth: 1.5,
      yAxisID,
    });
    this.chart = new Chart(canvas, {
      type: 'line',
      data: {
        datasets: [
          line('free MiB', '#7fc97f'),
          line('RSS MiB', '#5bc0de'),
          line('slab MiB', '#f0ad4e'),
          line('page faults', '#d9534f', 'faults'),
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: axes({
          x: {
            type: 'linear',
            title: { display: true, text: 'scheduler steps', color: TEXT },
            ticks: { color: TEXT },
            grid: { color: GRID },
          },
          faults: {
            position: 'right',
            beginAtZero: true,
            ticks: { color: TEXT },
            grid: { drawOnChartArea: false },
          },
        }),
        plugins: { legend: { labels: { color: TEXT } } },
      },
    });
  }

  update(history: CounterHistory): void {
    const steps = history.series('step');
    const points = (values: number[], scale = 1) =>
      values.map((v, i) => ({ x: steps[i]!, y: v / scale }));
    const [free, rss, slab, faults] = this.chart.data.datasets;
    free!.data = points(history.series('freeBytes'), MiB_BYTES);
    rss!.data = points(history.series('rssBytes'), MiB_BYTES);
    slab!.data = points(history.series('slabBytes'), MiB_BYTES);
    faults!.data = points(history.series('faults'));
    this.chart.update('none');
  }
}

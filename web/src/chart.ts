import uPlot from 'uplot';

/** Best and mean score per generation: one chart, redrawn in place as generations are scored. */
export class ScoreChart {
  private plot: uPlot | undefined;
  readonly element: HTMLElement;

  constructor() {
    this.element = document.createElement('figure');
    this.element.className = 'chart';
    this.element.setAttribute('aria-label', 'Best and mean score per generation');
  }

  /** `points` in generation order; an empty study draws an empty chart. */
  update(points: { generation: number; best: number | null; mean: number | null }[]): void {
    const data: uPlot.AlignedData = [points.map((p) => p.generation), points.map((p) => p.best), points.map((p) => p.mean)];
    this.element.dataset['points'] = String(points.length);
    if (this.plot) {
      this.plot.setData(data);
      return;
    }
    const styles = getComputedStyle(document.documentElement);
    const color = (name: string) => styles.getPropertyValue(name).trim() || 'gray';
    this.plot = new uPlot(
      {
        width: Math.max(320, Math.min(900, (this.element.parentElement?.clientWidth ?? 800) - 16)),
        height: 260,
        scales: { x: { time: false } },
        axes: [
          { label: 'generation', stroke: color('--fg'), grid: { stroke: color('--grid') }, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
          { label: 'score', stroke: color('--fg'), grid: { stroke: color('--grid') } },
        ],
        series: [
          { label: 'generation' },
          { label: 'best', stroke: color('--accent'), width: 2, points: { show: true } },
          { label: 'mean', stroke: color('--muted'), width: 1.5, dash: [6, 4] },
        ],
      },
      data,
      this.element,
    );
  }
}

export interface EvaluationPoint {
  at: number;
  success: boolean;
  value: number | null;
}

/**
 * Every evaluation as a point over time: successes at their value, failures
 * marked along the bottom, environment changes marked along the top.
 */
export class EvaluationsChart {
  private plot: uPlot | undefined;
  readonly element: HTMLElement;

  constructor() {
    this.element = document.createElement('figure');
    this.element.className = 'chart';
    this.element.setAttribute('aria-label', 'Every evaluation over time, failures marked, environment changes marked');
  }

  update(evaluations: EvaluationPoint[], changesAt: number[]): void {
    const values = evaluations.filter((e) => e.success && e.value !== null).map((e) => e.value!);
    const low = values.length ? Math.min(...values) : 0;
    const high = values.length ? Math.max(...values) : 1;
    // One x per evaluation and per change, in time order; each series holds its own points, null elsewhere.
    const rows = [
      ...evaluations.map((e) => ({ t: e.at / 1000, ok: e.success && e.value !== null ? e.value : null, failed: e.success ? null : low, change: null as number | null })),
      ...changesAt.map((at) => ({ t: at / 1000, ok: null, failed: null, change: high })),
    ].sort((a, b) => a.t - b.t);
    const data: uPlot.AlignedData = [rows.map((r) => r.t), rows.map((r) => r.ok), rows.map((r) => r.failed), rows.map((r) => r.change)];
    this.element.dataset['points'] = String(evaluations.length);
    if (this.plot) {
      this.plot.setData(data);
      return;
    }
    const styles = getComputedStyle(document.documentElement);
    const color = (name: string) => styles.getPropertyValue(name).trim() || 'gray';
    const dots = (stroke: string, size: number) => ({ stroke, width: 0, points: { show: true, size, stroke, fill: stroke }, paths: () => null });
    this.plot = new uPlot(
      {
        width: Math.max(320, Math.min(900, (this.element.parentElement?.clientWidth ?? 800) - 16)),
        height: 240,
        axes: [
          { stroke: color('--fg'), grid: { stroke: color('--grid') } },
          { label: 'value', stroke: color('--fg'), grid: { stroke: color('--grid') } },
        ],
        series: [{}, { label: 'evaluation', ...dots(color('--accent'), 4) }, { label: 'failed', ...dots(color('--bad'), 6) }, { label: 'environment change', ...dots(color('--warn'), 10) }],
      },
      data,
      this.element,
    );
  }
}

/** Task counts by status, sampled each time the tasks page is read: the queue over this visit. */
export class CountsChart {
  private plot: uPlot | undefined;
  private readonly samples: { t: number; counts: Record<string, number> }[] = [];
  readonly element: HTMLElement;

  constructor(private readonly statuses: readonly string[]) {
    this.element = document.createElement('figure');
    this.element.className = 'chart';
    this.element.setAttribute('aria-label', 'Tasks by status over time');
  }

  add(counts: Record<string, number>): void {
    this.samples.push({ t: Date.now() / 1000, counts });
    if (this.samples.length > 1000) this.samples.shift();
    const data: uPlot.AlignedData = [this.samples.map((s) => s.t), ...this.statuses.map((status) => this.samples.map((s) => s.counts[status] ?? 0))];
    this.element.dataset['points'] = String(this.samples.length);
    if (this.plot) {
      this.plot.setData(data);
      return;
    }
    const styles = getComputedStyle(document.documentElement);
    const color = (name: string) => styles.getPropertyValue(name).trim() || 'gray';
    const colors: Record<string, string> = { PENDING: color('--warn'), RUNNING: color('--accent'), COMPLETED: color('--ok'), FAILED: color('--bad'), CANCELLED: color('--muted') };
    this.plot = new uPlot(
      {
        width: Math.max(320, Math.min(900, (this.element.parentElement?.clientWidth ?? 800) - 16)),
        height: 200,
        axes: [{ stroke: color('--fg'), grid: { stroke: color('--grid') } }, { stroke: color('--fg'), grid: { stroke: color('--grid') } }],
        series: [{}, ...this.statuses.map((status) => ({ label: status, stroke: colors[status] ?? color('--fg'), width: 1.5 }))],
      },
      data,
      this.element,
    );
  }
}

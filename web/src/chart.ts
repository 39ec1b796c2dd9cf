import uPlot from 'uplot';

/** A colour of the page's theme (a CSS custom property). */
type Colour = (name: string) => string;

/** An axis in the theme's colours. */
const axis = (color: Colour, more: uPlot.Axis = {}): uPlot.Axis => ({ stroke: color('--fg'), grid: { stroke: color('--grid') }, ...more });

/**
 * A uPlot chart in a figure: drawn on its first data in the theme's colours,
 * then redrawn in place. Each chart says only its axes, series and data.
 */
abstract class Chart {
  private plot: uPlot | undefined;
  readonly element: HTMLElement;

  constructor(
    label: string,
    private readonly height: number,
  ) {
    this.element = document.createElement('figure');
    this.element.className = 'chart';
    this.element.setAttribute('aria-label', label);
  }

  protected abstract options(color: Colour): Omit<uPlot.Options, 'width' | 'height'>;

  /** `points`: how many the chart shows, for the page (and its tests) to read. */
  protected draw(data: uPlot.AlignedData, points: number): void {
    this.element.dataset['points'] = String(points);
    if (this.plot) {
      this.plot.setData(data);
      return;
    }
    const styles = getComputedStyle(document.documentElement);
    const color: Colour = (name) => styles.getPropertyValue(name).trim() || 'gray';
    const width = Math.max(320, Math.min(900, (this.element.parentElement?.clientWidth ?? 800) - 16));
    this.plot = new uPlot({ width, height: this.height, ...this.options(color) }, data, this.element);
  }
}

/** Best and mean score per generation: one chart, redrawn in place as generations are scored. */
export class ScoreChart extends Chart {
  constructor() {
    super('Best and mean score per generation', 260);
  }

  /** `points` in generation order; an empty study draws an empty chart. */
  update(points: { generation: number; best: number | null; mean: number | null }[]): void {
    this.draw([points.map((p) => p.generation), points.map((p) => p.best), points.map((p) => p.mean)], points.length);
  }

  protected options(color: Colour): Omit<uPlot.Options, 'width' | 'height'> {
    return {
      scales: { x: { time: false } },
      axes: [axis(color, { label: 'generation', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] }), axis(color, { label: 'score' })],
      series: [
        { label: 'generation' },
        { label: 'best', stroke: color('--accent'), width: 2, points: { show: true } },
        { label: 'mean', stroke: color('--muted'), width: 1.5, dash: [6, 4] },
      ],
    };
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
export class EvaluationsChart extends Chart {
  constructor() {
    super('Every evaluation over time, failures marked, environment changes marked', 240);
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
    this.draw([rows.map((r) => r.t), rows.map((r) => r.ok), rows.map((r) => r.failed), rows.map((r) => r.change)], evaluations.length);
  }

  protected options(color: Colour): Omit<uPlot.Options, 'width' | 'height'> {
    const dots = (stroke: string, size: number) => ({ stroke, width: 0, points: { show: true, size, stroke, fill: stroke }, paths: () => null });
    return {
      axes: [axis(color), axis(color, { label: 'value' })],
      series: [{}, { label: 'evaluation', ...dots(color('--accent'), 4) }, { label: 'failed', ...dots(color('--bad'), 6) }, { label: 'environment change', ...dots(color('--warn'), 10) }],
    };
  }
}

/** Task counts by status, sampled each time the tasks page is read: the queue over this visit. */
export class CountsChart extends Chart {
  private readonly samples: { t: number; counts: Record<string, number> }[] = [];

  constructor(private readonly statuses: readonly string[]) {
    super('Tasks by status over time', 200);
  }

  add(counts: Record<string, number>): void {
    this.samples.push({ t: Date.now() / 1000, counts });
    if (this.samples.length > 1000) this.samples.shift();
    this.draw([this.samples.map((s) => s.t), ...this.statuses.map((status) => this.samples.map((s) => s.counts[status] ?? 0))], this.samples.length);
  }

  protected options(color: Colour): Omit<uPlot.Options, 'width' | 'height'> {
    const colors: Record<string, string> = { PENDING: color('--warn'), RUNNING: color('--accent'), COMPLETED: color('--ok'), FAILED: color('--bad'), CANCELLED: color('--muted') };
    return {
      axes: [axis(color), axis(color)],
      series: [{}, ...this.statuses.map((status) => ({ label: status, stroke: colors[status] ?? color('--fg'), width: 1.5 }))],
    };
  }
}

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

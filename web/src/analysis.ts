/** What the combinations say about the variables: how much each explains, and all of them at once. */

export interface Scored {
  variables: Record<string, unknown>;
  score: number;
}

/**
 * Each variable's share of the spread in score it explains alone: the
 * correlation ratio η², between groups of combinations (its categories, or
 * four quantile bins of a number) over all of them. It ignores interactions.
 */
export function importance(combos: readonly Scored[]): { name: string; share: number }[] {
  if (combos.length < 4) return [];
  const mean = combos.reduce((n, c) => n + c.score, 0) / combos.length;
  const total = combos.reduce((n, c) => n + (c.score - mean) ** 2, 0);
  if (total === 0) return [];
  const names = Object.keys(combos[0]!.variables);
  return names
    .map((name) => {
      const groups = new Map<string, number[]>();
      const numeric = combos.every((c) => typeof c.variables[name] === 'number');
      const sorted = numeric ? combos.map((c) => c.variables[name] as number).sort((a, b) => a - b) : [];
      const cut = (v: number) => [0.25, 0.5, 0.75].filter((q) => v > sorted[Math.floor(q * (sorted.length - 1))]!).length;
      for (const c of combos) {
        const v = c.variables[name];
        const key = numeric ? String(cut(v as number)) : String(v);
        groups.set(key, [...(groups.get(key) ?? []), c.score]);
      }
      let between = 0;
      for (const scores of groups.values()) between += scores.length * (scores.reduce((n, s) => n + s, 0) / scores.length - mean) ** 2;
      return { name, share: between / total };
    })
    .sort((a, b) => b.share - a.share);
}

const SVG = 'http://www.w3.org/2000/svg';
const svg = (tag: string, attrs: Record<string, string | number>) => {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
};

/** Parallel coordinates: an axis per variable and one for the score, a line per combination; the best tenth stands out. */
export function parallelCoordinates(combos: readonly Scored[]): SVGSVGElement {
  const names = combos.length ? Object.keys(combos[0]!.variables) : [];
  const axes = [...names, 'score'];
  const width = Math.max(320, axes.length * 140);
  const height = 260;
  const top = 24;
  const bottom = height - 24;
  const x = (i: number) => 40 + (i * (width - 80)) / Math.max(1, axes.length - 1);
  const scale = (name: string): ((c: Scored) => number) => {
    const value = (c: Scored) => (name === 'score' ? c.score : c.variables[name]);
    if (combos.every((c) => typeof value(c) === 'number')) {
      const all = combos.map((c) => value(c) as number);
      const [lo, hi] = [Math.min(...all), Math.max(...all)];
      return (c) => (hi === lo ? 0.5 : ((value(c) as number) - lo) / (hi - lo));
    }
    const levels = [...new Set(combos.map((c) => String(value(c))))].sort();
    return (c) => (levels.length === 1 ? 0.5 : levels.indexOf(String(value(c))) / (levels.length - 1));
  };
  const scales = axes.map(scale);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'parallel', role: 'img', 'aria-label': `Parallel coordinates of ${combos.length} combinations: ${axes.join(', ')}` }) as SVGSVGElement;
  const ranked = [...combos].sort((a, b) => a.score - b.score);
  const cutoff = ranked[Math.floor(ranked.length * 0.9)]?.score ?? Infinity;
  for (const c of ranked) {
    const points = scales.map((s, i) => `${x(i)},${bottom - s(c) * (bottom - top)}`).join(' ');
    root.append(svg('polyline', { points, class: c.score >= cutoff ? 'line best' : 'line' }));
  }
  axes.forEach((name, i) => {
    root.append(svg('line', { x1: x(i), x2: x(i), y1: top, y2: bottom, class: 'axis' }));
    const label = svg('text', { x: x(i), y: 14, 'text-anchor': 'middle', class: 'label' });
    label.textContent = name;
    root.append(label);
  });
  return root;
}

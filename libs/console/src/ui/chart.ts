// A small time-series line chart on a canvas: a y axis from zero, time on x, several series, a
// legend that toggles them, and a tooltip that follows the pointer or the arrow keys. Colours come
// from CSS custom properties (--series-1 ... --series-6, --chart-grid, --chart-text), so the
// stylesheet themes it.

import { clock, h } from './dom.js';

export interface SeriesData {
  label: string;
  values: (number | null)[];
}

export interface ChartOptions {
  /** Caption, also the start of the canvas's accessible name. */
  title: string;
  /** Formats axis labels and tooltip values. */
  format?: (value: number) => string;
  /** The y axis reaches at least this (e.g. 1 for a ratio). */
  minMax?: number;
  /** Counts: ticks at whole numbers only. */
  integer?: boolean;
}

const PAD_TOP = 10;
const PAD_BOTTOM = 22;
const PAD_RIGHT = 10;

export class LineChart {
  /** The `<figure>` to put on the page. */
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly tip: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly format: (value: number) => string;
  private readonly hidden = new Set<string>();
  private readonly resizeObserver: ResizeObserver;
  private at: number[] = [];
  private series: SeriesData[] = [];
  private cursor: number | null = null;
  private frame = 0;
  private plot = { left: 40, width: 0, height: 0, max: 1 };

  constructor(private readonly options: ChartOptions) {
    this.format = options.format ?? ((value) => String(Math.round(value * 100) / 100));
    this.canvas = h('canvas', { tabindex: 0, role: 'img', class: 'chart-canvas' });
    this.tip = h('div', { class: 'chart-tip', hidden: true, 'aria-hidden': 'true' });
    this.legend = h('ul', { class: 'chart-legend', 'aria-label': `${options.title}: series` });
    this.element = h(
      'figure',
      { class: 'chart' },
      h('figcaption', null, options.title),
      h('div', { class: 'chart-plot' }, this.canvas, this.tip),
      this.legend,
    );
    this.canvas.addEventListener('pointermove', (event) => this.pointAt(event.offsetX));
    this.canvas.addEventListener('pointerleave', () => this.setCursor(null));
    this.canvas.addEventListener('keydown', (event) => this.key(event));
    this.canvas.addEventListener('focus', () => this.setCursor(this.at.length - 1));
    this.canvas.addEventListener('blur', () => this.setCursor(null));
    this.resizeObserver = new ResizeObserver(() => this.schedule());
    this.resizeObserver.observe(this.canvas);
  }

  /** Replaces the data: `at` holds timestamps (ms), each series one value (or null) per timestamp. */
  update(at: number[], series: SeriesData[]): void {
    const labelsChanged =
      series.length !== this.series.length || series.some((s, i) => s.label !== this.series[i]?.label);
    this.at = at;
    this.series = series;
    if (this.cursor !== null && this.cursor >= at.length) this.cursor = at.length - 1;
    if (labelsChanged) this.renderLegend();
    this.describe();
    this.schedule();
  }

  /** Stops observing the element's size (call when the view goes away). */
  destroy(): void {
    this.resizeObserver.disconnect();
    cancelAnimationFrame(this.frame);
  }

  private renderLegend(): void {
    this.legend.replaceChildren(
      ...this.series.map((series, index) => {
        const swatch = h('span', { class: `swatch series-${(index % 6) + 1}` });
        const button = h(
          'button',
          { type: 'button', 'aria-pressed': String(!this.hidden.has(series.label)) },
          swatch,
          series.label,
        );
        button.addEventListener('click', () => {
          if (this.hidden.has(series.label)) this.hidden.delete(series.label);
          else this.hidden.add(series.label);
          button.setAttribute('aria-pressed', String(!this.hidden.has(series.label)));
          this.schedule();
        });
        return h('li', null, button);
      }),
    );
  }

  /** The canvas's accessible name: the title and the newest value of each series. */
  private describe(): void {
    const last = this.at.length - 1;
    const values = this.series
      .map((series) => `${series.label} ${valueText(series.values[last], this.format)}`)
      .join(', ');
    this.canvas.setAttribute(
      'aria-label',
      last < 0 ? `${this.options.title}: no data yet` : `${this.options.title}, latest: ${values}`,
    );
  }

  private key(event: KeyboardEvent): void {
    if (this.at.length === 0) return;
    const last = this.at.length - 1;
    const current = this.cursor ?? last;
    const next =
      event.key === 'ArrowLeft'
        ? Math.max(0, current - 1)
        : event.key === 'ArrowRight'
          ? Math.min(last, current + 1)
          : event.key === 'Home'
            ? 0
            : event.key === 'End'
              ? last
              : undefined;
    if (event.key === 'Escape') this.setCursor(null);
    if (next === undefined) return;
    event.preventDefault();
    this.setCursor(next);
  }

  private pointAt(x: number): void {
    if (this.at.length === 0 || this.plot.width <= 0) return;
    const ratio = (x - this.plot.left) / this.plot.width;
    this.setCursor(Math.round(Math.min(1, Math.max(0, ratio)) * (this.at.length - 1)));
  }

  private setCursor(index: number | null): void {
    this.cursor = index !== null && index >= 0 ? index : null;
    this.showTip();
    this.schedule();
  }

  private showTip(): void {
    const index = this.cursor;
    if (index === null) {
      this.tip.hidden = true;
      return;
    }
    this.tip.replaceChildren(
      h('strong', null, clock(this.at[index])),
      ...this.series
        .filter((series) => !this.hidden.has(series.label))
        .map((series) =>
          h(
            'div',
            null,
            h('span', { class: `swatch series-${(this.series.indexOf(series) % 6) + 1}` }),
            `${series.label}: ${valueText(series.values[index], this.format)}`,
          ),
        ),
    );
    this.tip.hidden = false;
    const x = this.xOf(index);
    const flip = x > this.plot.left + this.plot.width / 2;
    this.tip.classList.toggle('flip', flip);
    // CSSOM property assignment, which the CSP allows (unlike a style attribute in markup).
    this.tip.style.setProperty('--x', `${Math.round(x)}px`);
  }

  private schedule(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private xOf(index: number): number {
    const span = Math.max(1, this.at.length - 1);
    return this.plot.left + (index / span) * this.plot.width;
  }

  private draw(): void {
    const cssWidth = this.canvas.clientWidth;
    const cssHeight = this.canvas.clientHeight;
    if (cssWidth === 0 || cssHeight === 0) return;
    const ratio = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(cssWidth * ratio)) this.canvas.width = Math.round(cssWidth * ratio);
    if (this.canvas.height !== Math.round(cssHeight * ratio))
      this.canvas.height = Math.round(cssHeight * ratio);
    const context = this.canvas.getContext('2d');
    if (context === null) return;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, cssWidth, cssHeight);

    const style = getComputedStyle(this.element);
    const grid = style.getPropertyValue('--chart-grid').trim() || '#ccc';
    const text = style.getPropertyValue('--chart-text').trim() || '#555';
    const colours = [1, 2, 3, 4, 5, 6].map((n) => style.getPropertyValue(`--series-${n}`).trim() || '#36c');
    context.font = `11px ${style.fontFamily}`;

    const visible = this.series.filter((series) => !this.hidden.has(series.label));
    let max = this.options.minMax ?? 0;
    for (const series of visible)
      for (const value of series.values) if (value !== null) max = Math.max(max, value);
    const ticks = niceTicks(max, 4, this.options.integer);
    const top = ticks[ticks.length - 1] ?? 1;
    const left =
      Math.ceil(Math.max(...ticks.map((tick) => context.measureText(this.format(tick)).width))) + 8;
    this.plot = {
      left,
      width: Math.max(10, cssWidth - left - PAD_RIGHT),
      height: Math.max(10, cssHeight - PAD_TOP - PAD_BOTTOM),
      max: top,
    };
    const yOf = (value: number) => PAD_TOP + this.plot.height * (1 - value / top);

    // Horizontal grid lines with their labels.
    context.strokeStyle = grid;
    context.fillStyle = text;
    context.lineWidth = 1;
    context.textAlign = 'right';
    context.textBaseline = 'middle';
    for (const tick of ticks) {
      const y = Math.round(yOf(tick)) + 0.5;
      context.beginPath();
      context.moveTo(left, y);
      context.lineTo(left + this.plot.width, y);
      context.stroke();
      context.fillText(this.format(tick), left - 6, y);
    }

    // Time labels: as many as fit, 70 px apart at least.
    if (this.at.length > 1) {
      context.textAlign = 'center';
      context.textBaseline = 'top';
      const slots = Math.max(1, Math.floor(this.plot.width / 70));
      const step = Math.max(1, Math.ceil((this.at.length - 1) / slots));
      // Right to left; the newest label ends at the plot's edge, and a label that would touch the
      // one drawn before it (or the y axis) is skipped.
      let edge = left + this.plot.width + 8;
      for (let index = this.at.length - 1; index >= 0; index -= step) {
        const label = clock(this.at[index]);
        const width = context.measureText(label).width;
        const x = Math.min(this.xOf(index), left + this.plot.width - width / 2);
        if (x - width / 2 < left) break;
        if (x + width / 2 > edge - 8) continue;
        context.fillText(label, x, PAD_TOP + this.plot.height + 6);
        edge = x - width / 2;
      }
    }

    // The series: a line, and a faint area under it, broken where a value is missing.
    this.series.forEach((series, index) => {
      if (this.hidden.has(series.label)) return;
      const colour = colours[index % 6] ?? '#36c';
      context.strokeStyle = colour;
      context.fillStyle = colour;
      context.lineWidth = 1.75;
      context.lineJoin = 'round';
      let open = false;
      let start = 0;
      const base = yOf(0);
      const path = new Path2D();
      const area = new Path2D();
      // A value with no neighbour would draw nothing as a line: it gets a dot.
      const dots = new Path2D();
      const closeArea = (end: number) => {
        if (end === start) {
          const y = yOf(series.values[start] ?? 0);
          dots.moveTo(this.xOf(start) + 2.5, y);
          dots.arc(this.xOf(start), y, 2.5, 0, Math.PI * 2);
        }
        area.lineTo(this.xOf(end), base);
        area.lineTo(this.xOf(start), base);
        area.closePath();
      };
      series.values.forEach((value, i) => {
        const x = this.xOf(i);
        if (value === null) {
          if (open) closeArea(i - 1);
          open = false;
          return;
        }
        const y = yOf(value);
        if (!open) {
          path.moveTo(x, y);
          area.moveTo(x, y);
          start = i;
          open = true;
        } else {
          path.lineTo(x, y);
          area.lineTo(x, y);
        }
      });
      if (open) closeArea(series.values.length - 1);
      context.globalAlpha = 0.08;
      context.fill(area);
      context.globalAlpha = 1;
      context.stroke(path);
      context.fill(dots);
    });

    // The cursor: a vertical rule and a dot on each series.
    if (this.cursor !== null) {
      const x = Math.round(this.xOf(this.cursor)) + 0.5;
      context.strokeStyle = text;
      context.lineWidth = 1;
      context.beginPath();
      context.moveTo(x, PAD_TOP);
      context.lineTo(x, PAD_TOP + this.plot.height);
      context.stroke();
      this.series.forEach((series, index) => {
        const value = series.values[this.cursor ?? 0];
        if (this.hidden.has(series.label) || value === null || value === undefined) return;
        context.fillStyle = colours[index % 6] ?? '#36c';
        context.beginPath();
        context.arc(x, yOf(value), 3, 0, Math.PI * 2);
        context.fill();
      });
    }
  }
}

function valueText(value: number | null | undefined, format: (value: number) => string): string {
  return value === null || value === undefined ? '—' : format(value);
}

/** Round tick values from 0 to at least `max`: 0, 1, 2, 5, 10 ... times a power of ten. */
export function niceTicks(max: number, count = 4, integer = false): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = integer ? Math.max(1, max / count) : max / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? power * 10;
  const ticks: number[] = [];
  for (let value = 0; value < max + step * 0.999; value += step) ticks.push(Math.round(value * 1e9) / 1e9);
  return ticks;
}

/**
 * History the page builds itself from bodies pushed every few seconds (Redis, cache, locks), for
 * the views whose endpoint only gives the present. Bounded; a series seen late is padded with null.
 */
export class SampleHistory {
  readonly at: number[] = [];
  private readonly values = new Map<string, (number | null)[]>();

  constructor(private readonly keep = 150) {}

  push(at: number, sample: Record<string, number | null>): void {
    this.at.push(at);
    for (const [name, value] of Object.entries(sample)) {
      if (!this.values.has(name))
        this.values.set(name, new Array<number | null>(this.at.length - 1).fill(null));
      this.values.get(name)?.push(value);
    }
    for (const [name, series] of this.values) if (!(name in sample)) series.push(null);
    if (this.at.length > this.keep) {
      this.at.shift();
      for (const series of this.values.values()) series.shift();
    }
  }

  /** Up to `limit` series, in the order they were first seen. */
  series(limit = 6): SeriesData[] {
    return [...this.values].slice(0, limit).map(([label, values]) => ({ label, values }));
  }
}

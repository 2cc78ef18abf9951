// Time-series charts as SVG, drawn from scratch: a line (or area) per series
// over a time window, a nice y scale, clock ticks, gaps where samples are
// missing, and a hover read-out.

import { clock, h } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) element.setAttribute(name, String(value));
  }
  for (const child of children) if (child) element.append(child);
  return element;
}

/** 0, and a round maximum with ~4 steps at or above `max`. */
export function niceScale(max, steps = 4, integer = false) {
  if (integer && max < steps) return { max: steps, step: 1 };
  if (!(max > 0)) return { max: 1, step: 0.25 };
  const raw = max / steps;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((m) => m >= raw) || 10 * power;
  return { max: step * Math.ceil(max / step - 1e-9), step };
}

function tickLabel(value, step) {
  if (value === 0) return "0";
  if (value >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (value >= 1e4) return `${+(value / 1e3).toFixed(1)}k`;
  const fraction = String(+step.toPrecision(6)).split(".")[1] || "";
  const digits = Math.min(3, fraction.length);
  return value.toFixed(digits);
}

/**
 * A chart that lives in `container` and redraws on update() and on resize.
 * series: [{ key, label, cls, area }]; update({ from, to, gap, points: [{ t, key: value… }] }).
 */
export class TimeChart {
  constructor(container, { series, unit = "", format = (v) => String(v), height = 150, empty = "No samples yet", integer = false }) {
    this.container = container;
    this.integer = integer;
    this.series = series;
    this.unit = unit;
    this.format = format;
    this.height = height;
    this.emptyText = empty;
    this.data = null;
    this.legend = h("div.chart-legend", series.map((item) => h("span.legend-item", h(`span.swatch.${item.cls}`), item.label)));
    this.plot = h("div.chart-plot");
    this.tip = h("div.chart-tip", { hidden: true });
    container.classList.add("chart");
    container.append(this.legend, this.plot, this.tip);
    this.onResize = () => {
      clearTimeout(this.resizeTimer);
      this.resizeTimer = setTimeout(() => this.draw(), 100);
    };
    window.addEventListener("resize", this.onResize);
  }

  destroy() {
    window.removeEventListener("resize", this.onResize);
    clearTimeout(this.resizeTimer);
  }

  update(data) {
    this.data = data;
    this.draw();
  }

  draw() {
    const data = this.data;
    const width = Math.max(200, this.plot.clientWidth || 400);
    const height = this.height;
    const pad = { left: 44, right: 10, top: 8, bottom: 22 };
    const w = width - pad.left - pad.right;
    const ht = height - pad.top - pad.bottom;
    const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "chart-svg", role: "img" });
    const points = data ? data.points : [];
    let max = 0;
    for (const point of points) for (const item of this.series) max = Math.max(max, point[item.key] ?? 0);
    const scale = niceScale(max, 4, this.integer);
    const from = data ? data.from : Date.now() - 15 * 60_000;
    const to = data ? data.to : Date.now();
    const x = (t) => pad.left + ((t - from) / Math.max(1, to - from)) * w;
    const y = (v) => pad.top + ht - (Math.min(v, scale.max) / scale.max) * ht;

    // Grid and y labels.
    for (let v = 0; v <= scale.max + 1e-9; v += scale.step) {
      const yy = Math.round(y(v)) + 0.5;
      svg.append(s("line", { x1: pad.left, x2: pad.left + w, y1: yy, y2: yy, class: v === 0 ? "axis" : "grid" }));
      const label = s("text", { x: pad.left - 6, y: yy + 4, class: "tick", "text-anchor": "end" });
      label.textContent = tickLabel(v, scale.step) + (v === scale.max && this.unit ? ` ${this.unit}` : "");
      svg.append(label);
    }
    // Time ticks on whole 5 minutes (or minutes for short windows).
    const span = to - from;
    const every = span > 20 * 60_000 ? 10 * 60_000 : span > 6 * 60_000 ? 5 * 60_000 : 60_000;
    for (let t = Math.ceil(from / every) * every; t <= to; t += every) {
      const xx = Math.round(x(t)) + 0.5;
      svg.append(s("line", { x1: xx, x2: xx, y1: pad.top + ht, y2: pad.top + ht + 4, class: "axis" }));
      const anchor = xx > width - 24 ? "end" : "middle";
      const label = s("text", { x: anchor === "end" ? width - 2 : xx, y: height - 5, class: "tick", "text-anchor": anchor });
      label.textContent = clock(t);
      svg.append(label);
    }

    if (points.length < 2) {
      const note = s("text", { x: pad.left + w / 2, y: pad.top + ht / 2, class: "chart-empty", "text-anchor": "middle" });
      note.textContent = this.emptyText;
      svg.append(note);
    }

    // One path per series, broken where samples are missing.
    const gap = data && data.gap ? data.gap : Infinity;
    for (const item of this.series) {
      const runs = [];
      let run = [];
      let previous = null;
      for (const point of points) {
        const value = point[item.key];
        if (value === undefined || value === null || !Number.isFinite(value) || (previous !== null && point.t - previous > gap)) {
          if (run.length) runs.push(run);
          run = [];
        }
        if (value !== undefined && value !== null && Number.isFinite(value)) run.push([x(point.t), y(value)]);
        previous = point.t;
      }
      if (run.length) runs.push(run);
      for (const segment of runs) {
        const line = segment.map(([px, py], i) => `${i ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`).join("");
        if (item.area && segment.length > 1) {
          const base = (pad.top + ht).toFixed(1);
          const area = `${line}L${segment[segment.length - 1][0].toFixed(1)},${base}L${segment[0][0].toFixed(1)},${base}Z`;
          svg.append(s("path", { d: area, class: `area ${item.cls}` }));
        }
        if (segment.length === 1) {
          svg.append(s("circle", { cx: segment[0][0], cy: segment[0][1], r: 2, class: `dot ${item.cls}` }));
        } else {
          svg.append(s("path", { d: line, class: `line ${item.cls}` }));
        }
      }
    }

    // Hover: a guide, a dot per series and a read-out of the nearest sample.
    const guide = s("line", { y1: pad.top, y2: pad.top + ht, class: "guide", visibility: "hidden" });
    const dots = this.series.map((item) => s("circle", { r: 3.5, class: `dot ${item.cls}`, visibility: "hidden" }));
    const hit = s("rect", { x: pad.left, y: pad.top, width: w, height: ht, class: "hit" });
    svg.append(guide, ...dots, hit);
    hit.addEventListener("mousemove", (event) => {
      if (!points.length) return;
      const box = svg.getBoundingClientRect();
      const px = event.clientX - box.left;
      const t = from + ((px - pad.left) / w) * (to - from);
      let nearest = points[0];
      for (const point of points) if (Math.abs(point.t - t) < Math.abs(nearest.t - t)) nearest = point;
      const gx = x(nearest.t);
      guide.setAttribute("x1", gx);
      guide.setAttribute("x2", gx);
      guide.setAttribute("visibility", "visible");
      this.series.forEach((item, i) => {
        const value = nearest[item.key];
        if (value === undefined || value === null || !Number.isFinite(value)) {
          dots[i].setAttribute("visibility", "hidden");
          return;
        }
        dots[i].setAttribute("cx", gx);
        dots[i].setAttribute("cy", y(value));
        dots[i].setAttribute("visibility", "visible");
      });
      this.tip.replaceChildren(
        h("div.tip-time", new Date(nearest.t).toLocaleTimeString()),
        ...this.series.map((item) =>
          h("div.tip-row", h(`span.swatch.${item.cls}`), `${item.label}: `,
            h("b", nearest[item.key] === undefined ? "–" : this.format(nearest[item.key])))),
      );
      this.tip.hidden = false;
      const tipWidth = this.tip.offsetWidth;
      let left = gx + 12;
      if (left + tipWidth > width) left = gx - tipWidth - 12;
      this.tip.style.left = `${Math.max(4, left)}px`;
      this.tip.style.top = `${this.legend.offsetHeight + pad.top}px`;
    });
    hit.addEventListener("mouseleave", () => {
      guide.setAttribute("visibility", "hidden");
      for (const dot of dots) dot.setAttribute("visibility", "hidden");
      this.tip.hidden = true;
    });
    this.plot.replaceChildren(svg);
  }
}

/** Horizontal bars: [{ label, value, href }] (largest first). */
export function barList(items, { format = String, cls = "bar-fail" } = {}) {
  const max = Math.max(1, ...items.map((item) => item.value));
  return h("div.barlist", items.map((item) => {
    const fill = h(`span.bar-fill.${cls}`);
    fill.style.width = `${Math.max(2, (item.value / max) * 100)}%`;
    const label = item.href ? h("a", { href: item.href }, item.label) : h("span", item.label);
    return h("div.bar-row", h("span.bar-label", { title: item.label }, label), h("span.bar-track", fill), h("span.bar-value", format(item.value)));
  }));
}

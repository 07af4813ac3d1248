// A tiny live line chart on <canvas>: no chart library, no CDN. Time runs along x (the last
// `windowMs` at most); keeps the last `capacity` points.

export class LineGraph {
  constructor(canvas, { capacity = 600, windowMs = 300000, color = "#ff3b6b", min = 0, unit = "" } = {}) {
    this.windowMs = windowMs;
    this.canvas = canvas;
    this.capacity = capacity;
    this.color = color;
    this.min = min;
    this.unit = unit;
    this.points = [];
    this.resize();
    window.addEventListener("resize", () => { this.resize(); this.draw(); });
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    const rect = this.canvas.getBoundingClientRect();
    if (rect.width) {
      this.canvas.width = Math.round(rect.width * ratio);
      this.canvas.height = Math.round(rect.height * ratio);
    }
    this.ratio = ratio;
  }

  push(value, time = Date.now()) {
    if (typeof value !== "number" || !Number.isFinite(value)) return;
    this.points.push({ value, time });
    if (this.points.length > this.capacity) this.points.shift();
    this.draw();
  }

  draw() {
    const { canvas, points } = this;
    const ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height, r = this.ratio;
    ctx.clearRect(0, 0, w, h);
    const styles = getComputedStyle(document.documentElement);
    const grid = styles.getPropertyValue("--line").trim() || "#333";
    const text = styles.getPropertyValue("--muted").trim() || "#999";
    const pad = 6 * r;
    const max = Math.max(1, ...points.map((p) => p.value)) * 1.15;
    ctx.strokeStyle = grid;
    ctx.lineWidth = 1;
    ctx.fillStyle = text;
    ctx.font = `${10 * r}px system-ui, sans-serif`;
    const top = max / 1.15;
    for (const f of [0.5, 1]) {
      const y = h - pad - (h - 2 * pad) * (f / 1.15);
      ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(w, y); ctx.stroke();
      const value = top * f;
      ctx.fillText(`${value >= 10 ? Math.round(value) : Number(value.toFixed(1))}${this.unit}`, 4 * r, y - 3 * r);
    }
    if (points.length < 2) {
      if (points.length === 0) { ctx.fillText("waiting for data…", 40 * r, h / 2); }
      return;
    }
    // Time on the x axis: from the first point (at least 30 s ago, at most `windowMs`) to now.
    const now = Math.max(Date.now(), points[points.length - 1].time);
    const span = Math.min(this.windowMs, Math.max(30000, now - points[0].time));
    const x = (t) => w - pad / 2 - ((now - t) / span) * (w - pad);
    const y = (v) => h - pad - (h - 2 * pad) * (v / max);
    const visible = points.filter((p) => now - p.time <= span);
    if (visible.length < 2) return;
    ctx.beginPath();
    visible.forEach((p, i) => (i ? ctx.lineTo(x(p.time), y(p.value)) : ctx.moveTo(x(p.time), y(p.value))));
    ctx.strokeStyle = this.color;
    ctx.lineWidth = 2 * r;
    ctx.lineJoin = "round";
    ctx.stroke();
    ctx.lineTo(x(visible[visible.length - 1].time), h);
    ctx.lineTo(x(visible[0].time), h);
    ctx.closePath();
    const gradient = ctx.createLinearGradient(0, 0, 0, h);
    gradient.addColorStop(0, `${this.color}55`);
    gradient.addColorStop(1, `${this.color}00`);
    ctx.fillStyle = gradient;
    ctx.fill();
  }
}

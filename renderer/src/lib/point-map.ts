// A WebGL2 scatter plot for the explorer's map: one draw call for all points, pan and zoom by a
// uniform transform, so a million points move at frame rate. Hand-written because the libraries
// made for this (regl-scatterplot, deck.gl) generate shader code with `new Function`, which the
// app's Content-Security-Policy (no 'unsafe-eval') forbids. Picking and lasso run in JS on the
// data coordinates (a linear scan of a million points takes a few milliseconds).

const VERTEX = `#version 300 es
in vec2 position;
in vec4 color;
uniform vec2 scale;
uniform vec2 offset;
uniform float size;
out vec4 vColor;
void main() {
  gl_Position = vec4(position * scale + offset, 0.0, 1.0);
  gl_PointSize = size;
  vColor = color;
}`;

const FRAGMENT = `#version 300 es
precision mediump float;
in vec4 vColor;
out vec4 outColor;
void main() {
  vec2 d = gl_PointCoord - vec2(0.5);
  if (dot(d, d) > 0.25) discard;
  outColor = vColor;
}`;

export interface PointMapEvents {
  /** A click near a point: its index. Not the second click of a double-click. */
  onPick?(index: number): void;
  /**
   * A double-click fitted the view. Its first click already reached onPick (telling the two apart
   * would hold every pick for the double-click interval), so a listener may undo that pick here.
   */
  onFit?(): void;
  /** A shift-drag lasso: the indices inside it. */
  onLasso?(indices: number[]): void;
}

function hexRgb(hex: string): [number, number, number] {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** Zoom limits, for the wheel and for fitting alike: from most of the map to a few points. */
const clampZoom = (zoom: number) => Math.min(400, Math.max(0.3, zoom));

export class PointMap {
  private readonly gl: WebGL2RenderingContext;
  private readonly program: WebGLProgram;
  private readonly positions: WebGLBuffer;
  private readonly colors: WebGLBuffer;
  private x = new Float32Array(0);
  private y = new Float32Array(0);
  private groups = new Int32Array(0);
  private palette: string[] = [];
  private highlighted: Set<number> | null = null;
  private zoom = 0.9;
  private center = [0, 0];
  private lasso: [number, number][] | null = null;
  private readonly overlay: CanvasRenderingContext2D | null;
  private readonly cleanup: (() => void)[] = [];

  constructor(private readonly canvas: HTMLCanvasElement, private readonly overlayCanvas: HTMLCanvasElement, private readonly events: PointMapEvents = {}) {
    const gl = canvas.getContext('webgl2', { antialias: true, premultipliedAlpha: false });
    if (!gl) throw new Error('WebGL2 is not available in this window');
    this.gl = gl;
    this.overlay = overlayCanvas.getContext('2d');
    const compile = (type: number, src: string) => {
      const s = gl.createShader(type)!;
      gl.shaderSource(s, src);
      gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s) ?? 'shader error');
      return s;
    };
    const p = gl.createProgram()!;
    gl.attachShader(p, compile(gl.VERTEX_SHADER, VERTEX));
    gl.attachShader(p, compile(gl.FRAGMENT_SHADER, FRAGMENT));
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(p) ?? 'link error');
    this.program = p;
    this.positions = gl.createBuffer()!;
    this.colors = gl.createBuffer()!;
    this.listen();
  }

  setData(x: ArrayLike<number>, y: ArrayLike<number>, groups: ArrayLike<number>, palette: string[]): void {
    this.x = Float32Array.from(x);
    this.y = Float32Array.from(y);
    this.groups = Int32Array.from(groups);
    this.palette = palette;
    const xy = new Float32Array(this.x.length * 2);
    for (let i = 0; i < this.x.length; i++) {
      xy[2 * i] = this.x[i]!;
      xy[2 * i + 1] = this.y[i]!;
    }
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.positions);
    gl.bufferData(gl.ARRAY_BUFFER, xy, gl.STATIC_DRAW);
    this.updateColors();
  }

  /**
   * Pans and zooms so the points fill the canvas: the box between the 0.5th and 99.5th percentile
   * of each axis, with a small margin, so that a lone far point does not shrink the rest (it is a
   * scroll away). On a new map, and on a double-click after panning and zooming.
   */
  fitView(): void {
    const n = this.x.length;
    if (!n) return;
    const span = (v: Float32Array): [number, number] => {
      const sorted = Float32Array.from(v).sort();
      return [sorted[Math.floor(0.005 * (n - 1))]!, sorted[Math.ceil(0.995 * (n - 1))]!];
    };
    const [x0, x1] = span(this.x), [y0, y1] = span(this.y);
    this.center = [(x0 + x1) / 2, (y0 + y1) / 2];
    const w = this.canvas.width || 1, h = this.canvas.height || 1;
    // scale() with zoom 1: how far one data unit reaches in clip space along each axis.
    const [ax, ay] = w > h ? [h / w, 1] : [1, w / h];
    const reach = Math.max(((x1 - x0) / 2) * ax, ((y1 - y0) / 2) * ay, 1e-6);
    this.zoom = clampZoom(0.92 / reach);
    this.draw();
  }

  /** Dims every point but these (null: all at full strength). */
  highlight(indices: number[] | null): void {
    this.highlighted = indices ? new Set(indices) : null;
    this.updateColors();
  }

  private updateColors(): void {
    const n = this.x.length, rgba = new Uint8Array(n * 4);
    const rgb = this.palette.map(hexRgb);
    for (let i = 0; i < n; i++) {
      const [r, g, b] = rgb[this.groups[i]! % Math.max(1, rgb.length)] ?? [200, 200, 200];
      const on = !this.highlighted || this.highlighted.has(i);
      rgba.set([r, g, b, on ? 230 : 40], i * 4);
    }
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.colors);
    gl.bufferData(gl.ARRAY_BUFFER, rgba, gl.STATIC_DRAW);
    this.draw();
  }

  resize(width: number, height: number): void {
    const dpr = window.devicePixelRatio || 1;
    for (const c of [this.canvas, this.overlayCanvas]) {
      c.width = Math.round(width * dpr);
      c.height = Math.round(height * dpr);
      c.style.width = `${width}px`;
      c.style.height = `${height}px`;
    }
    this.draw();
  }

  /** Data → clip space: x' = (x − cx)·zoom·(aspect fix). */
  private scale(): [number, number] {
    const w = this.canvas.width || 1, h = this.canvas.height || 1;
    return w > h ? [this.zoom * (h / w), this.zoom] : [this.zoom, this.zoom * (w / h)];
  }

  draw(): void {
    const gl = this.gl;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(0.082, 0.09, 0.106, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (!this.x.length) return;
    gl.useProgram(this.program);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
    const [sx, sy] = this.scale();
    gl.uniform2f(gl.getUniformLocation(this.program, 'scale'), sx, sy);
    gl.uniform2f(gl.getUniformLocation(this.program, 'offset'), -this.center[0]! * sx, -this.center[1]! * sy);
    const dpr = window.devicePixelRatio || 1;
    gl.uniform1f(gl.getUniformLocation(this.program, 'size'), Math.max(2, Math.min(8, (this.x.length > 50_000 ? 2.5 : 5) * Math.sqrt(this.zoom))) * dpr);
    const pos = gl.getAttribLocation(this.program, 'position'), col = gl.getAttribLocation(this.program, 'color');
    gl.bindBuffer(gl.ARRAY_BUFFER, this.positions);
    gl.enableVertexAttribArray(pos);
    gl.vertexAttribPointer(pos, 2, gl.FLOAT, false, 0, 0);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.colors);
    gl.enableVertexAttribArray(col);
    gl.vertexAttribPointer(col, 4, gl.UNSIGNED_BYTE, true, 0, 0);
    gl.drawArrays(gl.POINTS, 0, this.x.length);
    this.drawOverlay();
  }

  private drawOverlay(): void {
    const o = this.overlay;
    if (!o) return;
    o.clearRect(0, 0, this.overlayCanvas.width, this.overlayCanvas.height);
    if (!this.lasso || this.lasso.length < 2) return;
    const dpr = window.devicePixelRatio || 1;
    o.strokeStyle = '#5aa9ff';
    o.fillStyle = '#5aa9ff22';
    o.lineWidth = 1.5 * dpr;
    o.beginPath();
    this.lasso.forEach(([x, y], i) => (i ? o.lineTo(x * dpr, y * dpr) : o.moveTo(x * dpr, y * dpr)));
    o.closePath();
    o.fill();
    o.stroke();
  }

  /** CSS pixel → data coordinates. */
  private toData(px: number, py: number): [number, number] {
    const rect = this.canvas.getBoundingClientRect();
    const cx = (px / rect.width) * 2 - 1, cy = 1 - (py / rect.height) * 2;
    const [sx, sy] = this.scale();
    return [cx / sx + this.center[0]!, cy / sy + this.center[1]!];
  }

  private listen(): void {
    const c = this.canvas;
    let drag: { x: number; y: number; moved: boolean } | null = null;
    const local = (e: MouseEvent): [number, number] => {
      const r = c.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    const down = (e: MouseEvent) => {
      const [x, y] = local(e);
      if (e.shiftKey) this.lasso = [[x, y]];
      else drag = { x, y, moved: false };
    };
    const move = (e: MouseEvent) => {
      const [x, y] = local(e);
      if (this.lasso) {
        this.lasso.push([x, y]);
        this.drawOverlay();
      } else if (drag) {
        const [ax, ay] = this.toData(drag.x, drag.y), [bx, by] = this.toData(x, y);
        this.center = [this.center[0]! - (bx - ax), this.center[1]! - (by - ay)];
        if (Math.abs(x - drag.x) + Math.abs(y - drag.y) > 2) drag.moved = true;
        drag.x = x;
        drag.y = y;
        this.draw();
      }
    };
    const up = (e: MouseEvent) => {
      const [x, y] = local(e);
      if (this.lasso) {
        const poly = this.lasso.map(([px, py]) => this.toData(px, py));
        this.lasso = null;
        this.drawOverlay();
        if (poly.length > 2) this.events.onLasso?.(this.inside(poly));
      } else if (drag && !drag.moved) {
        const hit = this.nearest(x, y);
        // detail: the click count; the second click of a double-click is the fit's, not a pick.
        if (hit >= 0 && e.detail <= 1) this.events.onPick?.(hit);
      }
      drag = null;
    };
    const wheel = (e: WheelEvent) => {
      e.preventDefault();
      const [x, y] = local(e);
      const before = this.toData(x, y);
      this.zoom = clampZoom(this.zoom * Math.exp(-e.deltaY * 0.0015));
      const after = this.toData(x, y);
      this.center = [this.center[0]! + before[0] - after[0], this.center[1]! + before[1] - after[1]];
      this.draw();
    };
    const fit = () => {
      this.fitView();
      this.events.onFit?.();
    };
    c.addEventListener('mousedown', down);
    c.addEventListener('dblclick', fit);
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
    c.addEventListener('wheel', wheel, { passive: false });
    this.cleanup.push(() => {
      c.removeEventListener('mousedown', down);
      c.removeEventListener('dblclick', fit);
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
      c.removeEventListener('wheel', wheel);
    });
  }

  /** The point within 8 CSS pixels of (px, py), or −1. */
  nearest(px: number, py: number): number {
    const [dx, dy] = this.toData(px, py);
    const [sx] = this.scale();
    const rect = this.canvas.getBoundingClientRect();
    const radius = (8 / rect.width) * 2 / sx;
    let best = -1, bestD = radius * radius;
    for (let i = 0; i < this.x.length; i++) {
      const d = (this.x[i]! - dx) ** 2 + (this.y[i]! - dy) ** 2;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    return best;
  }

  /** Indices of points inside a polygon (data coordinates), by ray casting. */
  inside(poly: [number, number][]): number[] {
    const out: number[] = [];
    let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (const [x, y] of poly) {
      minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
    }
    for (let i = 0; i < this.x.length; i++) {
      const px = this.x[i]!, py = this.y[i]!;
      if (px < minX || px > maxX || py < minY || py > maxY) continue;
      let on = false;
      for (let a = 0, b = poly.length - 1; a < poly.length; b = a++) {
        const [ax, ay] = poly[a]!, [bx, by] = poly[b]!;
        if ((ay > py) !== (by > py) && px < ((bx - ax) * (py - ay)) / (by - ay) + ax) on = !on;
      }
      if (on) out.push(i);
    }
    return out;
  }

  destroy(): void {
    this.cleanup.forEach((f) => f());
    this.gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
}

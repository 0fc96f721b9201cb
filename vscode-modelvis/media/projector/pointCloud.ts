// Points drawn with WebGL: one gl.POINTS draw call for the whole cloud, so 150k points pan, zoom and rotate at
// frame rate. Plain WebGL, not regl: regl compiles its commands with new Function, which the webviews' CSP (no
// 'unsafe-eval') refuses. Positions are normalised into [-1, 1]³ once; a 2-D view pans and zooms, a 3-D view
// orbits. Picking is on the CPU: the point nearest the mouse in screen space (one pass over the projected points).

export interface Camera {
  /** 2-D: pan centre and zoom; 3-D: orbit angles and distance. */
  mode: '2d' | '3d';
  cx: number;
  cy: number;
  zoom: number;
  yaw: number;
  pitch: number;
}

export function initialCamera(mode: '2d' | '3d'): Camera {
  return { mode, cx: 0, cy: 0, zoom: mode === '2d' ? 0.9 : 1, yaw: 0.6, pitch: 0.35 };
}

type Mat4 = Float32Array;

function multiply(a: Mat4, b: Mat4): Mat4 {
  const out = new Float32Array(16);
  for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) {
    let s = 0;
    for (let k = 0; k < 4; k++) s += a[k * 4 + r] * b[c * 4 + k];
    out[c * 4 + r] = s;
  }
  return out;
}

/** The column-major clip-space matrix of a camera for a canvas of the given aspect (width / height). */
export function viewMatrix(cam: Camera, aspect: number): Mat4 {
  // The shorter side of the canvas spans [-1, 1] at zoom 1, so the whole cloud fits in a tall or a wide canvas.
  const fx = aspect >= 1 ? 1 / aspect : 1, fy = aspect >= 1 ? 1 : aspect;
  if (cam.mode === '2d') {
    const sx = cam.zoom * fx, sy = cam.zoom * fy;
    return new Float32Array([sx, 0, 0, 0, 0, sy, 0, 0, 0, 0, 0.5, 0, -cam.cx * sx, -cam.cy * sy, 0, 1]);
  }
  const cy = Math.cos(cam.yaw), sy = Math.sin(cam.yaw), cp = Math.cos(cam.pitch), sp = Math.sin(cam.pitch);
  const rotY = new Float32Array([cy, 0, -sy, 0, 0, 1, 0, 0, sy, 0, cy, 0, 0, 0, 0, 1]);
  const rotX = new Float32Array([1, 0, 0, 0, 0, cp, sp, 0, 0, -sp, cp, 0, 0, 0, 0, 1]);
  const distance = 3.2 / cam.zoom;
  const translate = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, -distance, 1]);
  const f = 1 / Math.tan(Math.PI / 8), near = 0.05, far = 100;
  const perspective = new Float32Array([f * fx, 0, 0, 0, 0, f * fy, 0, 0, 0, 0, (far + near) / (near - far), -1, 0, 0, (2 * far * near) / (near - far), 0]);
  return multiply(perspective, multiply(translate, multiply(rotX, rotY)));
}

const VERTEX_SHADER = `
  precision mediump float;
  attribute vec3 position;
  attribute vec4 color;
  attribute float size;
  uniform mat4 view;
  uniform float pixelRatio;
  varying vec4 vColor;
  void main() {
    gl_Position = view * vec4(position, 1.0);
    gl_PointSize = size * pixelRatio;
    vColor = color;
  }`;

const FRAGMENT_SHADER = `
  precision mediump float;
  varying vec4 vColor;
  void main() {
    vec2 c = gl_PointCoord - 0.5;
    if (dot(c, c) > 0.25) discard;
    gl_FragColor = vColor;
  }`;

export class PointCloud {
  private readonly gl: WebGLRenderingContext;
  private readonly program: WebGLProgram;
  private readonly buffers: Record<'position' | 'color' | 'size', WebGLBuffer>;
  private count = 0;
  private xyz: Float32Array = new Float32Array(0);
  camera: Camera = initialCamera('2d');

  constructor(private readonly canvas: HTMLCanvasElement) {
    // preserveDrawingBuffer: the picture stays readable (screenshots).
    const gl = canvas.getContext('webgl', { antialias: true, preserveDrawingBuffer: true });
    if (!gl) throw new Error('WebGL is not available in this window, so the projector cannot draw its points');
    this.gl = gl;
    this.program = link(gl, VERTEX_SHADER, FRAGMENT_SHADER);
    const buffer = () => gl.createBuffer() ?? (() => { throw new Error('WebGL: no buffer'); })();
    this.buffers = { position: buffer(), color: buffer(), size: buffer() };
  }

  /** New positions ([count, 3], already normalised). */
  setPositions(xyz: Float32Array): void {
    this.xyz = xyz;
    this.count = xyz.length / 3;
    this.upload('position', xyz);
  }

  /** RGBA [count, 4] in 0..1 and point sizes in CSS pixels [count]. */
  setStyle(rgba: Float32Array, sizes: Float32Array): void {
    this.upload('color', rgba);
    this.upload('size', sizes);
  }

  private upload(name: 'position' | 'color' | 'size', data: Float32Array): void {
    this.gl.bindBuffer(this.gl.ARRAY_BUFFER, this.buffers[name]);
    this.gl.bufferData(this.gl.ARRAY_BUFFER, data, this.gl.DYNAMIC_DRAW);
  }

  render(background: [number, number, number]): void {
    const gl = this.gl;
    const ratio = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(this.canvas.clientWidth * ratio)), h = Math.max(1, Math.round(this.canvas.clientHeight * ratio));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    gl.viewport(0, 0, w, h);
    gl.clearColor(background[0], background[1], background[2], 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (this.count === 0) return;
    gl.useProgram(this.program);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
    for (const [name, size] of [['position', 3], ['color', 4], ['size', 1]] as const) {
      const at = gl.getAttribLocation(this.program, name);
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers[name]);
      gl.enableVertexAttribArray(at);
      gl.vertexAttribPointer(at, size, gl.FLOAT, false, 0, 0);
    }
    gl.uniformMatrix4fv(gl.getUniformLocation(this.program, 'view'), false, viewMatrix(this.camera, w / h));
    gl.uniform1f(gl.getUniformLocation(this.program, 'pixelRatio'), ratio);
    gl.drawArrays(gl.POINTS, 0, this.count);
  }

  /** Where point i lands in CSS pixels of the canvas, or null when behind the camera or off the canvas. */
  screenOf(i: number): { x: number; y: number } | null {
    const m = viewMatrix(this.camera, this.canvas.clientWidth / Math.max(1, this.canvas.clientHeight));
    return project(m, this.xyz, i, this.canvas.clientWidth, this.canvas.clientHeight);
  }

  /** The point nearest (x, y) in CSS pixels within `radius`, or -1. */
  pick(x: number, y: number, radius = 8): number {
    const w = this.canvas.clientWidth, h = this.canvas.clientHeight;
    const m = viewMatrix(this.camera, w / Math.max(1, h));
    let best = -1, bestDist = radius * radius;
    for (let i = 0; i < this.count; i++) {
      const p = project(m, this.xyz, i, w, h);
      if (!p) continue;
      const d = (p.x - x) ** 2 + (p.y - y) ** 2;
      if (d < bestDist) {
        bestDist = d;
        best = i;
      }
    }
    return best;
  }

  dispose(): void {
    this.gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
}

function link(gl: WebGLRenderingContext, vertex: string, fragment: string): WebGLProgram {
  const compile = (type: number, source: string) => {
    const shader = gl.createShader(type)!;
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(`WebGL shader: ${gl.getShaderInfoLog(shader)}`);
    return shader;
  };
  const program = gl.createProgram()!;
  gl.attachShader(program, compile(gl.VERTEX_SHADER, vertex));
  gl.attachShader(program, compile(gl.FRAGMENT_SHADER, fragment));
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(`WebGL program: ${gl.getProgramInfoLog(program)}`);
  return program;
}

function project(m: Mat4, xyz: Float32Array, i: number, w: number, h: number): { x: number; y: number } | null {
  const x = xyz[3 * i], y = xyz[3 * i + 1], z = xyz[3 * i + 2];
  const cw = m[3] * x + m[7] * y + m[11] * z + m[15];
  if (cw <= 0) return null;
  const cx = (m[0] * x + m[4] * y + m[8] * z + m[12]) / cw;
  const cy = (m[1] * x + m[5] * y + m[9] * z + m[13]) / cw;
  if (cx < -1.05 || cx > 1.05 || cy < -1.05 || cy > 1.05) return null;
  return { x: ((cx + 1) / 2) * w, y: ((1 - cy) / 2) * h };
}

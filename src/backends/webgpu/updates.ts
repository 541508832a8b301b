// Parameter updates on the GPU: gradient accumulation, SGD (momentum, Nesterov, weight decay) and
// Adam/AdamW, one thread per value, the same formulas as src/backends/host-updates.ts. Per-call
// hyper-parameters (lr, the bias corrections) are uniforms; one program per (update, size) is reused, and
// the size is a uniform too (the thread count), so every parameter shares one pipeline per update kind.
import { VireoError } from '../../core/errors.js';
import type { UpdateKernels } from '../backend.js';
import { type GpuContext, GpuProgram, f, f32bits } from './program.js';

/** More distinct update programs than any plan needs: past it, the cache starts over. */
const MAX_UPDATE_PROGRAMS = 4096;

const SGD_FIELDS = ['p', 'g', 'buf', 'lr', 'momentum', 'dampening', 'wd', 'nesterov', 'first'];
const SGD = `
fn body(i: u32) {
  let lr = bitcast<f32>(u.lr);
  let mu = bitcast<f32>(u.momentum);
  var d = m[u.g + i] + bitcast<f32>(u.wd) * m[u.p + i];
  if (mu != 0.0) {
    var b = d;
    if (u.first == 0u) { b = mu * m[u.buf + i] + (1.0 - bitcast<f32>(u.dampening)) * d; }
    m[u.buf + i] = b;
    if (u.nesterov != 0u) { d = d + mu * b; } else { d = b; }
  }
  m[u.p + i] = m[u.p + i] - lr * d;
}`;

const ADAM_FIELDS = ['p', 'g', 'mm', 'v', 'vmax', 'lr', 'beta1', 'beta2', 'eps', 'wd', 'decoupled', 'stepSize', 'bc2Sqrt'];
const ADAM = `
fn body(i: u32) {
  let lr = bitcast<f32>(u.lr);
  let wd = bitcast<f32>(u.wd);
  let b1 = bitcast<f32>(u.beta1);
  let b2 = bitcast<f32>(u.beta2);
  var decay: f32 = 1.0;
  var l2 = wd;
  if (u.decoupled != 0u) { decay = 1.0 - lr * wd; l2 = 0.0; }
  let pi = m[u.p + i] * decay;
  let d = m[u.g + i] + l2 * pi;
  let mi = b1 * m[u.mm + i] + (1.0 - b1) * d;
  var vi = b2 * m[u.v + i] + (1.0 - b2) * d * d;
  m[u.mm + i] = mi;
  m[u.v + i] = vi;
  if (u.vmax != 0u) {
    vi = max(m[u.vmax + i], vi);
    m[u.vmax + i] = vi;
  }
  m[u.p + i] = pi - (bitcast<f32>(u.stepSize) * mi) / (sqrt(vi) / bitcast<f32>(u.bc2Sqrt) + bitcast<f32>(u.eps));
}`;

const ADD = 'fn body(i: u32) { m[u.dst + i] = m[u.dst + i] + m[u.src + i]; }';
const COPY = 'fn body(i: u32) { m[u.dst + i] = m[u.src + i]; }';
const SCALE = 'fn body(i: u32) { m[u.g + i] = m[u.g + i] * bitcast<f32>(u.c); }';
const CLAMP = 'fn body(i: u32) { let c = bitcast<f32>(u.c); m[u.g + i] = clamp(m[u.g + i], -c, c); }';

/** Threads of the norm reduction's first pass: each folds a strided share of g into one partial. */
const PARTIALS = 256;
/** NaN by its bits: WGSL compilers may fold x != x to false. */
const IS_NAN = 'fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }';
// Pass 1: partial[t] = Σ g² (or max |g|, NaN wins — taken from the data: a NaN constant does not compile) over i ≡ t (mod PARTIALS). Pass 2 (one thread): folds
// the partials in order into acc. Two dispatches, no barriers: each dispatch sees the one before it.
const NORM_PARTIAL = (inf: boolean) => `${IS_NAN}
fn body(t: u32) {
  var a: f32 = 0.0;
  for (var i = t; i < u.n; i = i + ${PARTIALS}u) {
    let x = m[u.g + i];
    ${inf ? 'if (isNan(x) && !isNan(a)) { a = x; } else if (!isNan(a)) { a = max(a, abs(x)); }' : 'a = a + x * x;'}
  }
  m[u.scratch + t] = a;
}`;
const NORM_FOLD = (inf: boolean) => `${IS_NAN}
fn body(t: u32) {
  var a: f32 = 0.0;
  if (u.first == 0u) { a = m[u.acc]; }
  for (var k = 0u; k < min(u.n, ${PARTIALS}u); k = k + 1u) {
    let x = m[u.scratch + k];
    ${inf ? 'if (isNan(x) && !isNan(a)) { a = x; } else if (!isNan(a)) { a = max(a, x); }' : 'a = a + x;'}
  }
  m[u.acc] = a;
}`;
const NORM_SQRT = 'fn body(t: u32) { m[u.acc] = sqrt(m[u.acc]); }';
// coef = maxNorm / (norm + 1e-6), applied when below 1 (as the host's clipGradNorm); a NaN norm spreads.
const SCALE_BY_NORM = `${IS_NAN}
fn body(i: u32) {
  let norm = m[u.acc];
  let coef = bitcast<f32>(u.maxNorm) / (norm + 1e-6);
  if (isNan(norm) || coef < 1.0) { m[u.g + i] = m[u.g + i] * coef; }
}`;

/**
 * The updates for a GPU memory. Programs are made per (kind, n) on first use, compiled synchronously: an
 * optimizer's step() is synchronous, and the compile happens once per update kind (sizes are uniforms).
 * sumSquares and maxAbs must return a number synchronously, which a GPU cannot: clipping by norm or value
 * says so instead of stalling.
 */
export function webGpuUpdates(ctx: GpuContext): UpdateKernels {
  // One program (so one uniform buffer) per (kind, size, pointers): an optimizer step writes each
  // parameter's uniforms into its own buffer, which needs no flush (GpuProgram.run), so a step is one
  // submit, not one per parameter. Pipelines are shared by source. Pointers come from plans and optimizer
  // state, so the set is bounded; a cap guards against a caller that keeps reallocating.
  const programs = new Map<string, GpuProgram>();
  const program = (kind: string, fields: string[], body: string, n: number, at: string): GpuProgram => {
    const key = `${kind}:${n}:${at}`;
    let p = programs.get(key);
    if (!p) {
      if (programs.size >= MAX_UPDATE_PROGRAMS) {
        ctx.queue.flush(); // recorded dispatches may still name the buffers about to go
        for (const old of programs.values()) old.dispose();
        programs.clear();
      }
      p = new GpuProgram(ctx, `update ${kind}`, fields, [{ body, threads: n }], true);
      programs.set(key, p);
    }
    return p;
  };
  const sgd = (n: number, p: number) => program('sgd', SGD_FIELDS, SGD, n, `${p}`);
  const adam = (n: number, p: number) => program('adam', ADAM_FIELDS, ADAM, n, `${p}`);
  const add = (n: number, src: number, dst: number) => program('add', ['src', 'dst'], ADD, n, `${src}:${dst}`);
  const copy = (n: number, src: number, dst: number) => program('copy', ['src', 'dst'], COPY, n, `${src}:${dst}`);
  ctx.memory.copier = (src, dst, n) => copy(n, src, dst).run([f(src), f(dst)]);
  const scale = (n: number, g: number) => program('scale', ['g', 'c'], SCALE, n, `${g}`);
  const clampP = (n: number, g: number) => program('clamp', ['g', 'c'], CLAMP, n, `${g}`);
  const unsupported = (what: string): never => {
    throw new VireoError(
      `webgpu: ${what} returns the norm synchronously, which a GPU cannot give; use await clipGradNormAsync(...) (the norm computed and applied on the device) or clipGradNormLazy(...) (nothing read back)`,
    );
  };
  // One scratch region for the partials, allocated on first use and kept (256 floats).
  let scratch = 0;
  const normPrograms = (n: number, inf: boolean, at: string): GpuProgram => {
    const key = `norm${inf ? 'inf' : '2'}:${n}:${at}`;
    let p = programs.get(key);
    if (!p) {
      const passes = [
        { body: NORM_PARTIAL(inf), threads: Math.min(n, PARTIALS) },
        { body: NORM_FOLD(inf), threads: 1 },
      ];
      p = new GpuProgram(ctx, `update norm ${inf ? 'inf' : '2'}`, ['g', 'scratch', 'acc', 'first', 'n'], passes, true);
      programs.set(key, p);
    }
    return p;
  };
  return {
    accumulate(src, dst, n, addTo) {
      if (addTo) add(n, src, dst).run([f(src), f(dst)]);
      else ctx.memory.copy(src, dst, 4 * n);
    },
    sgd(p, g, buf, n, lr, momentum, dampening, weightDecay, nesterov, first) {
      sgd(n, p).run([
        f(p),
        f(g),
        momentum !== 0 ? f(buf) : 0,
        f32bits(lr),
        f32bits(momentum),
        f32bits(dampening),
        f32bits(weightDecay),
        nesterov ? 1 : 0,
        first ? 1 : 0,
      ]);
    },
    adam(p, g, m, v, vmax, n, lr, beta1, beta2, eps, weightDecay, decoupled, stepSize, bc2Sqrt) {
      adam(n, p).run([
        f(p),
        f(g),
        f(m),
        f(v),
        vmax >= 0 ? f(vmax) : 0,
        f32bits(lr),
        f32bits(beta1),
        f32bits(beta2),
        f32bits(eps),
        f32bits(weightDecay),
        decoupled ? 1 : 0,
        f32bits(stepSize),
        f32bits(bc2Sqrt),
      ]);
    },
    accumulateNorm(g, n, acc, normType, first) {
      if (n === 0) return;
      scratch ||= ctx.memory.alloc(4 * PARTIALS);
      normPrograms(n, normType === Number.POSITIVE_INFINITY, `${g}:${acc}`).run([f(g), f(scratch), f(acc), first ? 1 : 0, n]);
    },
    finishNorm(acc, normType) {
      if (normType === 2) program('normSqrt', ['acc'], NORM_SQRT, 1, `${acc}`).run([f(acc)]);
    },
    scaleByNorm(g, n, acc, maxNorm) {
      program('scaleByNorm', ['g', 'acc', 'maxNorm'], SCALE_BY_NORM, n, `${g}:${acc}`).run([f(g), f(acc), f32bits(maxNorm)]);
    },
    readLater: (ptr) => ctx.memory.readLater(ptr),
    sumSquares: () => unsupported('clipGradNorm'),
    maxAbs: () => unsupported('clipGradNorm with an infinite norm'),
    scale(g, n, coef) {
      scale(n, g).run([f(g), f32bits(coef)]);
    },
    clamp(g, n, value) {
      clampP(n, g).run([f(g), f32bits(value)]);
    },
  };
}

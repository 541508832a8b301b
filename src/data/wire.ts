// How a chunk crosses to a worker: sample indices into a shared image source the worker already has
// (SharedImages, in-memory datasets), or the raw samples themselves: one byte buffer and one float
// buffer holding every image back to back, plus per-sample metadata. With shared memory the two buffers are views of the
// worker's own SharedArrayBuffer (reused chunk after chunk: nothing allocated, transferred or
// page-faulted per chunk); otherwise they are fresh buffers, transferred (moved, not copied). Samples
// that are all raw images of one shape (the usual case) travel as one meta and a label array instead
// of an object per sample.
import { sharedMemory } from '../core/platform.js';
import type { RawImage, RawSample } from './sample.js';

export interface WireMeta {
  kind: RawImage['kind'];
  offset: number;
  length: number;
  height: number;
  width: number;
  channels: number;
  layout?: 'HWC' | 'CHW';
  source?: string;
  label: number;
}

/** Every sample of a chunk is this image (back to back, `length` elements apart), labels aside. */
export interface WireUniform {
  meta: Omit<WireMeta, 'offset' | 'label'>;
  labels: Float64Array;
}

/**
 * Copies `count` same-shaped images into one SharedArrayBuffer (`imageAt(i)` gives image i's
 * elements, `meta.length` of them), with their labels; null where shared memory is unavailable.
 */
export function sharedImagesFrom(
  meta: WireUniform['meta'],
  count: number,
  imageAt: (i: number) => Uint8Array | Float32Array,
  labelAt: (i: number) => number,
): SharedImages | null {
  if (!sharedMemory()) return null;
  const bytesPer = meta.kind === 'f32' ? 4 : 1;
  const buffer = new SharedArrayBuffer(Math.max(1, count * meta.length * bytesPer));
  const data =
    meta.kind === 'f32' ? new Float32Array(buffer, 0, count * meta.length) : new Uint8Array(buffer, 0, count * meta.length);
  for (let i = 0; i < count; i++) (data as Uint8Array).set(imageAt(i) as Uint8Array, i * meta.length);
  return { meta, data, labels: sharedLabels(count, labelAt) };
}

/** `count` labels in shared memory (the workers' copy of a SharedImages' labels). */
export function sharedLabels(count: number, labelAt: (i: number) => number): Float32Array {
  const labels = new Float32Array(new SharedArrayBuffer(Math.max(4, count * 4)), 0, count);
  for (let i = 0; i < count; i++) labels[i] = labelAt(i);
  return labels;
}

/**
 * A dataset's decoded images, all of one shape, in shared memory (Dataset.sharedImages): workers are
 * given it once and read a chunk's samples from it by index, so chunks carry no pixels.
 */
export interface SharedImages {
  meta: WireUniform['meta'];
  /** Image i is data[i * meta.length, (i + 1) * meta.length) (views on a SharedArrayBuffer). */
  data: Uint8Array | Float32Array;
  labels: Float32Array;
}

export interface WireChunk {
  indices: number[];
  /** The id of a SharedImages the worker was given: the samples are read there by `indices`. */
  source?: number;
  /** Per-sample metadata, or null when `uniform` describes every sample. */
  metas: WireMeta[] | null;
  uniform?: WireUniform;
  bytes: Uint8Array;
  floats: Float32Array;
  seed: number;
  epoch: number;
  /** Which try this is (0, then 1 on the retry after a worker died): fault injection keys on it. */
  attempt: number;
  /**
   * A shared batch buffer and this chunk's float range in it: the worker writes its images there
   * when they have the expected size, so the main thread neither receives nor copies pixels.
   */
  shared?: { buffer: SharedArrayBuffer; offset: number; length: number };
}

/** Where a chunk's pixels go: buffers of at least these sizes (fresh ones by default). */
export type WireStore = (nBytes: number, nFloats: number) => { bytes: Uint8Array; floats: Float32Array };

const freshStore: WireStore = (nBytes, nFloats) => ({ bytes: new Uint8Array(nBytes), floats: new Float32Array(nFloats) });

/** The shape every sample shares, when all are raw images of one kind and size; else null. */
function uniformMeta(samples: RawSample[]): WireUniform['meta'] | null {
  if (samples.length === 0) return null;
  const a = samples[0].image;
  if (a.kind === 'encoded') return null;
  const layout = a.kind === 'u8' ? a.layout : undefined;
  for (let k = 1; k < samples.length; k++) {
    const b = samples[k].image;
    if (b.kind !== a.kind || b.data.length !== a.data.length || b.height !== a.height || b.width !== a.width) return null;
    if (b.channels !== a.channels || (b.kind === 'u8' ? b.layout : undefined) !== layout) return null;
  }
  const meta: WireUniform['meta'] = {
    kind: a.kind,
    length: a.data.length,
    height: a.height,
    width: a.width,
    channels: a.channels,
  };
  if (layout !== undefined) meta.layout = layout;
  return meta;
}

export function packChunk(
  samples: RawSample[],
  indices: number[],
  seed: number,
  epoch: number,
  attempt: number,
  store: WireStore = freshStore,
): WireChunk {
  const u = uniformMeta(samples);
  if (u) {
    const n = samples.length * u.length;
    const { bytes, floats } = u.kind === 'f32' ? store(0, n) : store(n, 0);
    const to: Uint8Array | Float32Array = u.kind === 'f32' ? floats : bytes;
    const labels = new Float64Array(samples.length);
    for (let k = 0; k < samples.length; k++) {
      (to as Uint8Array).set(samples[k].image.data as Uint8Array, k * u.length);
      labels[k] = samples[k].label;
    }
    return {
      indices,
      metas: null,
      uniform: { meta: u, labels },
      bytes: u.kind === 'f32' ? bytes.subarray(0, 0) : bytes.subarray(0, n),
      floats: u.kind === 'f32' ? floats.subarray(0, n) : floats.subarray(0, 0),
      seed,
      epoch,
      attempt,
    };
  }
  let nBytes = 0;
  let nFloats = 0;
  for (const s of samples) {
    if (s.image.kind === 'f32') nFloats += s.image.data.length;
    else nBytes += s.image.data.length;
  }
  const stored = store(nBytes, nFloats);
  const bytes = stored.bytes.subarray(0, nBytes);
  const floats = stored.floats.subarray(0, nFloats);
  let ob = 0;
  let of = 0;
  const metas: WireMeta[] = samples.map(({ image, label }) => {
    if (image.kind === 'f32') {
      floats.set(image.data, of);
      of += image.data.length;
      return {
        kind: 'f32',
        offset: of - image.data.length,
        length: image.data.length,
        height: image.height,
        width: image.width,
        channels: image.channels,
        label,
      };
    }
    bytes.set(image.data, ob);
    ob += image.data.length;
    const base = { offset: ob - image.data.length, length: image.data.length, channels: image.channels, label };
    if (image.kind === 'encoded') return { ...base, kind: 'encoded', height: 0, width: 0, source: image.source };
    return { ...base, kind: 'u8', height: image.height, width: image.width, layout: image.layout };
  });
  return { indices, metas, bytes, floats, seed, epoch, attempt };
}

/** A chunk's samples read from a shared source by dataset index. */
function fromSource(source: SharedImages, indices: number[]): RawSample[] {
  const { kind, length, height, width, channels, layout } = source.meta;
  const out: RawSample[] = new Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const at = indices[k] * length;
    const image: RawImage =
      kind === 'f32'
        ? { kind, data: (source.data as Float32Array).subarray(at, at + length), channels, height, width }
        : { kind: 'u8', data: (source.data as Uint8Array).subarray(at, at + length), height, width, channels, layout };
    out[k] = { image, label: source.labels[indices[k]] };
  }
  return out;
}

export function unpackChunk(chunk: WireChunk, sources?: Map<number, SharedImages>): RawSample[] {
  if (chunk.source !== undefined) {
    const source = sources?.get(chunk.source);
    if (!source) throw new Error(`data worker: unknown image source ${chunk.source}`);
    return fromSource(source, chunk.indices);
  }
  const u = chunk.uniform;
  if (u && u.meta.kind !== 'encoded') {
    // One literal object per sample (no per-sample meta spread: that cost ~10% of a 32x32 worker's time).
    const { kind, length, height, width, channels, layout } = u.meta;
    const out: RawSample[] = new Array(u.labels.length);
    for (let k = 0; k < out.length; k++) {
      const image: RawImage =
        kind === 'f32'
          ? { kind, data: chunk.floats.subarray(k * length, (k + 1) * length), channels, height, width }
          : { kind: 'u8', data: chunk.bytes.subarray(k * length, (k + 1) * length), height, width, channels, layout };
      out[k] = { image, label: u.labels[k] };
    }
    return out;
  }
  const metas =
    chunk.metas ??
    Array.from(chunk.uniform?.labels ?? [], (label, k) => ({
      ...(chunk.uniform as WireUniform).meta,
      offset: k * (chunk.uniform as WireUniform).meta.length,
      label,
    }));
  return metas.map((m) => {
    let image: RawImage;
    if (m.kind === 'f32')
      image = {
        kind: 'f32',
        data: chunk.floats.subarray(m.offset, m.offset + m.length),
        channels: m.channels,
        height: m.height,
        width: m.width,
      };
    else if (m.kind === 'encoded')
      image = {
        kind: 'encoded',
        data: chunk.bytes.subarray(m.offset, m.offset + m.length),
        source: m.source ?? '?',
        channels: m.channels,
      };
    else
      image = {
        kind: 'u8',
        data: chunk.bytes.subarray(m.offset, m.offset + m.length),
        height: m.height,
        width: m.width,
        channels: m.channels,
        layout: m.layout,
      };
    return { image, label: m.label };
  });
}

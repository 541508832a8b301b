// How a chunk of raw samples crosses to a worker: one byte buffer and one float buffer holding every
// image back to back, plus per-sample metadata. With shared memory the two buffers are views of the
// worker's own SharedArrayBuffer (reused chunk after chunk: nothing allocated, transferred or
// page-faulted per chunk); otherwise they are fresh buffers, transferred (moved, not copied). Samples
// that are all raw images of one shape (the usual case) travel as one meta and a label array instead
// of an object per sample.
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

export interface WireChunk {
  indices: number[];
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

export function unpackChunk(chunk: WireChunk): RawSample[] {
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

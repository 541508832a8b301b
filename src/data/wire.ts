// How a chunk of raw samples crosses to a worker: one byte buffer and one float buffer holding every
// image back to back, both transferred (moved, not copied), plus small per-sample metadata.
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

export interface WireChunk {
  indices: number[];
  metas: WireMeta[];
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

export function packChunk(samples: RawSample[], indices: number[], seed: number, epoch: number, attempt: number): WireChunk {
  let nBytes = 0;
  let nFloats = 0;
  for (const s of samples) {
    if (s.image.kind === 'f32') nFloats += s.image.data.length;
    else nBytes += s.image.data.length;
  }
  const bytes = new Uint8Array(nBytes);
  const floats = new Float32Array(nFloats);
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
  return chunk.metas.map((m) => {
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

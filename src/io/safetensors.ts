import { FormatError } from '../core/errors.js';
import { type Shape, shapeToString, sizeOf } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';

/**
 * safetensors: 8-byte little-endian header length, a JSON header mapping names to
 * { dtype, shape, data_offsets } (offsets relative to the data that follows), then the raw data.
 * Every tensor is read into float32; integer dtypes are marked so they are written back as I64.
 */
const dtypeBytes: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const integerDtypes = new Set(['I64', 'I32', 'I16', 'I8', 'U8', 'BOOL']);
const MAX_HEADER = 100 * 1024 * 1024;

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

function fail(source: string, problem: string): never {
  throw new FormatError(`${source}: not a valid safetensors file: ${problem}`);
}

/** Reads a safetensors file into name → Tensor (file order). `source` names the file in errors. */
export function readSafetensors(bytes: Uint8Array, source = 'safetensors'): Map<string, Tensor> {
  return readSafetensorsFile(bytes, source).tensors;
}

export function readSafetensorsFile(bytes: Uint8Array, source = 'safetensors'): SafetensorsFile {
  if (bytes.byteLength < 8) fail(source, `${bytes.byteLength} bytes is too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER || 8 + headerLength > bytes.byteLength) {
    fail(
      source,
      `header length ${headerLength} runs past the end of the file (${bytes.byteLength} bytes); the file may be truncated`,
    );
  }
  // As the Rust library checks: the header is a JSON object (it may only be padded at the end).
  if (headerLength === 0 || bytes[8] !== 0x7b) fail(source, "header does not start with '{'");
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    fail(source, `header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail(source, 'header is not a JSON object');

  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  let metadata: Record<string, string> = {};
  const entries: { name: string; dtype: string; shape: Shape; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      const ok =
        typeof entry === 'object' &&
        entry !== null &&
        !Array.isArray(entry) &&
        Object.values(entry).every((v) => typeof v === 'string');
      if (!ok) fail(source, `__metadata__ must map strings to strings, got ${JSON.stringify(entry)}`);
      metadata = entry as Record<string, string>;
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      fail(source, `tensor '${name}' is described by ${JSON.stringify(entry)}, not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(dtype in dtypeBytes)) {
      fail(
        source,
        `tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(dtypeBytes).join(', ')})`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(source, `tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      fail(source, `tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = sizeOf(shape as Shape) * dtypeBytes[dtype];
    if (end < begin || end - begin !== expected) {
      fail(
        source,
        `tensor '${name}' (${dtype} ${shapeToString(shape as Shape)}) needs ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    if (end > dataLength)
      fail(source, `tensor '${name}' ends at byte ${end} of a ${dataLength}-byte data section; the file may be truncated`);
    entries.push({ name, dtype, shape: shape as Shape, begin, end });
  }
  // Tensors come back in data order: writers (PyTorch's safetensors, vireo) lay data out in header
  // order, and data order survives JSON.parse, which moves integer-like names ('0', '12') first.
  // The format requires the data section to be fully indexed: no overlaps, no holes, nothing after.
  entries.sort((a, b) => a.begin - b.begin);
  let covered = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.begin < covered)
      fail(source, `tensors '${entries[i - 1].name}' and '${e.name}' overlap (bytes ${e.begin}..${covered})`);
    if (e.begin > covered)
      fail(source, `bytes ${covered}..${e.begin} of the data section belong to no tensor (before '${e.name}')`);
    covered = e.end;
  }
  if (covered !== dataLength) fail(source, `the tensors cover ${covered} bytes but the data section has ${dataLength}`);
  const tensors = new Map<string, Tensor>();
  for (const e of entries) {
    tensors.set(
      e.name,
      new Tensor(decode(bytes, dataStart + e.begin, sizeOf(e.shape), e.dtype), e.shape, { integer: integerDtypes.has(e.dtype) }),
    );
  }
  return { tensors, metadata };
}

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function decode(bytes: Uint8Array, offset: number, count: number, dtype: string): Float32Array {
  if (dtype === 'F32' && littleEndianHost) {
    // Byte copy: works whatever the alignment of the tensor in the file.
    const out = new Float32Array(count);
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + count * 4));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * dtypeBytes[dtype]);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'F32':
        out[i] = view.getFloat32(i * 4, true);
        break;
      case 'F64':
        out[i] = view.getFloat64(i * 8, true);
        break;
      case 'F16':
        out[i] = halfToFloat(view.getUint16(i * 2, true));
        break;
      case 'BF16':
        out[i] = new Float32Array(new Uint32Array([view.getUint16(i * 2, true) << 16]).buffer)[0];
        break;
      case 'I64':
        out[i] = Number(view.getBigInt64(i * 8, true));
        break;
      case 'I32':
        out[i] = view.getInt32(i * 4, true);
        break;
      case 'I16':
        out[i] = view.getInt16(i * 2, true);
        break;
      case 'I8':
        out[i] = view.getInt8(i);
        break;
      default:
        out[i] = view.getUint8(i);
    }
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/**
 * Writes tensors as safetensors (F32, or I64 for tensors marked integer), in the given order, with
 * 8-byte-aligned data as PyTorch's writer does. The result loads with safetensors.torch.load_file.
 */
export function writeSafetensors(
  tensors: Map<string, Tensor> | Record<string, Tensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    const size = t.size * (t.integer ? 8 : 4);
    header[name] = { dtype: t.integer ? 'I64' : 'F32', shape: [...t.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  // Pad by UTF-8 bytes, not UTF-16 units, so non-ASCII names or metadata keep the data 8-byte aligned.
  const json = JSON.stringify(header);
  const jsonBytes = new TextEncoder().encode(json).length;
  const headerBytes = new TextEncoder().encode(json + ' '.repeat((8 - (jsonBytes % 8)) % 8));
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of entries) {
    const values = t.dataSync();
    if (t.integer) {
      for (let i = 0; i < values.length; i++, at += 8) view.setBigInt64(at, BigInt(Math.round(values[i])), true);
    } else {
      out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
      at += values.byteLength;
    }
  }
  return out;
}

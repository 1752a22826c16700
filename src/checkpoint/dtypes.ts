/**
 * Reading the number formats PyTorch saves tensors in (float16, bfloat16, float64, integers) as
 * what vit computes with: float32. Little-endian, as torch.save and safetensors write them.
 */
export type StorageDtype = 'F16' | 'BF16' | 'F32' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const BYTES_PER_ELEMENT: Record<StorageDtype, number> = { F16: 2, BF16: 2, F32: 4, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** `count` values of `dtype` starting at byte `offset` of `bytes`, as float32. */
export function toFloat32(bytes: Uint8Array, offset: number, count: number, dtype: StorageDtype): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * BYTES_PER_ELEMENT[dtype]);
  const out = new Float32Array(count);
  const read: (i: number) => number = {
    F16: (i: number) => halfToFloat(view.getUint16(2 * i, true)),
    // bfloat16 is the top half of a float32.
    BF16: (i: number) => bfloatToFloat(view.getUint16(2 * i, true)),
    F32: (i: number) => view.getFloat32(4 * i, true),
    F64: (i: number) => view.getFloat64(8 * i, true),
    I64: (i: number) => Number(view.getBigInt64(8 * i, true)),
    I32: (i: number) => view.getInt32(4 * i, true),
    I16: (i: number) => view.getInt16(2 * i, true),
    I8: (i: number) => view.getInt8(i),
    U8: (i: number) => view.getUint8(i),
    BOOL: (i: number) => (view.getUint8(i) ? 1 : 0),
  }[dtype];
  for (let i = 0; i < count; i++) out[i] = read(i);
  return out;
}

const scratch = new DataView(new ArrayBuffer(4));

function bfloatToFloat(bits: number): number {
  scratch.setUint32(0, bits << 16);
  return scratch.getFloat32(0);
}

/** IEEE 754 half precision: sign, 5 exponent bits (bias 15), 10 fraction bits; subnormals and inf/NaN included. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

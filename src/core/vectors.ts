/** The largest finite 4-byte float: what real[] and pgvector can hold. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Why a vector of `length` numbers is not one of `dimensions`, or undefined when it is. */
export function dimensionsProblem(length: number, dimensions: number): string | undefined {
  return length === dimensions ? undefined : `${length} dimensions, expected ${dimensions}`;
}

/** Why `values` cannot be stored as an embedding of `dimensions` (any length when omitted), or undefined when it can. */
export function vectorProblem(values: unknown, dimensions?: number): string | undefined {
  if (!Array.isArray(values)) return `not a list of numbers (${typeof values})`;
  const wrongSize = dimensions === undefined ? undefined : dimensionsProblem(values.length, dimensions);
  if (wrongSize) return wrongSize;
  if (!values.length) return 'no dimensions';
  for (const x of values) {
    if (typeof x !== 'number' || !Number.isFinite(x) || Math.abs(x) > FLOAT32_MAX)
      return `a value that is not a finite 4-byte float (${x})`;
  }
  return undefined;
}

const FLOAT4_OID = 700;

/**
 * An embedding in PostgreSQL's binary array format (array_recv of real[]):
 * sent as a binary parameter, it reaches the server as 4-byte floats, with no
 * decimal text to print here and parse there — for 1,536 dimensions that
 * formatting and parsing cost more than the rest of the row's write.
 */
export function realArrayBinary(values: readonly number[]): Buffer {
  const buffer = Buffer.allocUnsafe(20 + 8 * values.length);
  buffer.writeInt32BE(1, 0); // dimensions of the array
  buffer.writeInt32BE(0, 4); // no NULLs
  buffer.writeInt32BE(FLOAT4_OID, 8);
  buffer.writeInt32BE(values.length, 12);
  buffer.writeInt32BE(1, 16); // lower bound
  let offset = 20;
  for (const value of values) {
    buffer.writeInt32BE(4, offset);
    buffer.writeFloatBE(value, offset + 4);
    offset += 8;
  }
  return buffer;
}

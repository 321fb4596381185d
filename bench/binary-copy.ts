/**
 * Rows in COPY's binary format, for the baselines that compare with a library
 * sending binary parameters (an embedding as 4-byte floats, not decimal
 * text): the same format on both sides, so the comparison is of the work,
 * not of how floats are printed and parsed.
 */
import { realArrayBinary } from '../src/core/vectors.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const TEXT_OID = 25;

/** A field of a binary COPY row: its value in the column type's binary form, or null. */
export type BinaryField = Buffer | null;

export const field = {
  text: (v: string | null): BinaryField => (v === null ? null : Buffer.from(v, 'utf8')),
  uuid: (v: string): BinaryField => Buffer.from(v.replace(/-/g, ''), 'hex'),
  int4: (v: number): BinaryField => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return b;
  },
  int8: (v: bigint | string): BinaryField => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    return b;
  },
  /** jsonb's binary form: a version byte (1), then the JSON text. */
  jsonb: (v: unknown): BinaryField => Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(v), 'utf8')]),
  textArray: (values: string[]): BinaryField => {
    const parts = values.map((v) => Buffer.from(v, 'utf8'));
    const head = Buffer.alloc(values.length ? 20 : 12);
    head.writeInt32BE(values.length ? 1 : 0, 0); // dimensions
    head.writeInt32BE(0, 4); // no NULLs
    head.writeInt32BE(TEXT_OID, 8);
    if (values.length) {
      head.writeInt32BE(values.length, 12);
      head.writeInt32BE(1, 16); // lower bound
    }
    return Buffer.concat([
      head,
      ...parts.flatMap((p) => {
        const length = Buffer.alloc(4);
        length.writeInt32BE(p.length);
        return [length, p];
      }),
    ]);
  },
  realArray: (values: readonly number[]): BinaryField => realArrayBinary(values),
};

/** The whole COPY … FROM STDIN (FORMAT binary) input for these rows. */
export function binaryCopy(rows: BinaryField[][]): Buffer {
  const chunks: Buffer[] = [SIGNATURE, Buffer.alloc(8)]; // flags 0, no header extension
  for (const row of rows) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(row.length);
    chunks.push(count);
    for (const value of row) {
      const length = Buffer.alloc(4);
      length.writeInt32BE(value === null ? -1 : value.length);
      chunks.push(length);
      if (value !== null) chunks.push(value);
    }
  }
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1);
  chunks.push(trailer);
  return Buffer.concat(chunks);
}

/*
 * The memory API's views of the registered tables: which column each API
 * field reads, and each value converted by its column's registered type.
 */
import { type TableName, table } from './tables.js';

/**
 * How the memory API reads a table: API field → column. The SELECT list and
 * the conversion of each value (by the column's type) derive from it; what a
 * column does not say (a role derived from memory_type) the view's user adds.
 */
export interface View {
  table: TableName;
  fields: Record<string, string>;
  /** How an absent value comes out: `null` (sessions, memories) or left out (atoms' optional fields). */
  absent: 'null' | 'undefined';
  /** Fields that default when absent (metadata → {}, lists → []) instead. */
  defaults?: Record<string, unknown>;
}

/** `a, b, c`: the view's columns, for a SELECT. */
export function viewColumns(view: View): string {
  return Object.values(view.fields).join(', ');
}

/** A row as the view's API object, each value converted by its column's type. */
export function fromRow(view: View, row: Record<string, unknown>): Record<string, unknown> {
  const fields = compiledFields(view);
  const out: Record<string, unknown> = {};
  for (const { field, column, convert } of fields) {
    const value = row[column];
    if (value === null || value === undefined) {
      if (view.defaults && field in view.defaults) out[field] = view.defaults[field];
      else if (view.absent === 'null') out[field] = null;
      continue;
    }
    out[field] = convert(value);
  }
  return out;
}

interface CompiledField {
  field: string;
  column: string;
  convert: (value: unknown) => unknown;
}

/** Each view's fields with their conversions, worked out once (a transcript maps thousands of rows). */
const compiled = new WeakMap<View, CompiledField[]>();

function compiledFields(view: View): CompiledField[] {
  const known = compiled.get(view);
  if (known) return known;
  const columns = new Map(table(view.table).columns.map((c) => [c.name, c.type]));
  const fields = Object.entries(view.fields).map(([field, column]) => {
    const type = columns.get(column);
    const convert =
      type === 'timestamp with time zone'
        ? (value: unknown) => (value instanceof Date ? value : new Date(String(value)))
        : type === 'real' || type === 'integer' || type === 'bigint' || type === 'double precision'
          ? (value: unknown) => Number(value)
          : type === 'uuid' || type === 'text'
            ? (value: unknown) => String(value)
            : (value: unknown) => value;
    return { field, column, convert };
  });
  compiled.set(view, fields);
  return fields;
}

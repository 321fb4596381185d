/**
 * The floors of src/, lowest first: a module may import from its own floor
 * and the floors below it, never from one above. `npm run lint` holds the
 * code to it (depcruise), so the imports stay one-way as the code grows.
 * A folder new to src/ must be given a floor here (an unplaced folder fails).
 */
const FLOORS = [
  ['core'],
  ['errors'],
  ['config'],
  ['observability'],
  ['providers'],
  ['schema', 'erasure'],
  ['memory', 'replication'],
  ['backup', 'formation'],
  ['runtime'],
  ['import'],
  ['ops'],
  ['adapters', 'server'],
  ['cli'],
  ['index.ts'],
];

const placed = FLOORS.flat();
const pathOf = (names) => `^src/(${names.map((n) => n.replace('.', '\\.')).join('|')})(/|$)`;

module.exports = {
  forbidden: [
    ...FLOORS.slice(0, -1).map((floor, i) => ({
      name: `floor-${floor.join('+')}`,
      comment: `${floor.join(', ')} may import only from ${FLOORS.slice(0, i + 1).flat().join(', ')}`,
      severity: 'error',
      from: { path: pathOf(floor) },
      to: { path: pathOf(FLOORS.slice(i + 1).flat()) },
    })),
    {
      name: 'every-folder-has-a-floor',
      comment: 'give each folder of src/ a floor in .dependency-cruiser.cjs',
      severity: 'error',
      from: { path: '^src/', pathNot: pathOf(placed) },
      to: {},
    },
    {
      name: 'no-circular',
      comment: 'modules import one way: a cycle means two of them are one concept, or one belongs lower',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};

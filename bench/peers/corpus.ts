/**
 * The seeded corpus every side gets, in the same order: users, each with
 * planted facts (what recall@k is measured on) among distractors, and the
 * questions that should find each planted fact.
 */
const ATTRIBUTES = [
  'favourite editor',
  'home city',
  'preferred airline',
  'coffee order',
  'deploy day',
  'on-call rotation',
  'database vendor',
  'pager number',
  'manager name',
  'laptop model',
  'dentist appointment',
  'shoe size',
  'allergy list',
  'gym schedule',
  'bank branch',
  'car registration',
  'spoken languages',
  'birthday month',
  'timezone choice',
  'billing plan',
];
const WORDS =
  'amber basalt cobalt delta ember fjord garnet harbor indigo jasper kelp lumen marble nectar onyx pylon quartz russet sable tundra umber vellum willow xenon yarrow zephyr'.split(
    ' ',
  );

/** A small deterministic generator (mulberry32): the same corpus on every run and every side. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Planted {
  user: string;
  text: string;
  question: string;
}

export interface Corpus {
  users: string[];
  planted: Planted[];
  distractors: { user: string; text: string }[];
  /** Filler for timed writes: a sentence per call. */
  filler(i: number): string;
}

export function corpus(users = 20, plantedPerUser = 5, distractorsPerUser = 20): Corpus {
  const random = seeded(42);
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)] as T;
  const names = Array.from({ length: users }, (_, i) => `user${i + 1}`);
  const planted: Planted[] = [];
  const distractors: { user: string; text: string }[] = [];
  for (const user of names) {
    const attributes = [...ATTRIBUTES].sort(() => random() - 0.5);
    for (const attribute of attributes.slice(0, plantedPerUser)) {
      const value = `${pick(WORDS)}-${Math.floor(random() * 1000)}`;
      planted.push({ user, text: `The ${attribute} of ${user} is ${value}`, question: `what is the ${attribute} of ${user}?` });
    }
    for (let i = 0; i < distractorsPerUser; i++)
      distractors.push({ user, text: `${user} mentioned ${pick(WORDS)} ${pick(WORDS)} and ${pick(WORDS)} in passing (${i})` });
  }
  const fill = seeded(7);
  const filler = (i: number) =>
    `note ${i}: ${WORDS[Math.floor(fill() * WORDS.length)]} ${WORDS[Math.floor(fill() * WORDS.length)]} ${WORDS[Math.floor(fill() * WORDS.length)]}`;
  return { users: names, planted, distractors, filler };
}

import type { AtomInput } from '../src/index.js';
import { embeddingText } from '../src/memory/atoms/rows.js';

/** Deterministic pseudo-random numbers, so every run searches the same corpus. */
export function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const WORDS = (
  'motor pump valve bearing seal gasket belt conveyor drive inverter relay contactor fuse breaker sensor encoder ' +
  'thermostat compressor fan filter coil boiler chiller heat exchanger gearbox coupling shaft impeller rotor stator ' +
  'winding insulation voltage current resistance torque speed pressure flow temperature vibration noise leak ' +
  'corrosion wear overheating tripping alarm fault reset calibration inspection lubrication alignment tension ' +
  'replacement adjustment cleaning tightening testing measuring logging firmware parameter controller plc hmi ' +
  'network cable connector terminal grounding shielding harmonic surge spike sag brownout phase neutral earth ' +
  'hydraulic pneumatic cylinder actuator solenoid manifold accumulator reservoir hose fitting clamp bracket mount'
).split(' ');

/** A vocabulary of VOCABULARY words: the maintenance terms, then made-up part and model names. */
const VOCABULARY = 3000;
const SYLLABLES = 'ka lo mi ten sor val dex pra qui rus ton vel zam bri cor fen gal hup jor'.split(' ');
const vocabulary: string[] = [...WORDS];
for (let i = 0; vocabulary.length < VOCABULARY; i++) {
  const a = SYLLABLES[i % SYLLABLES.length] as string;
  const b = SYLLABLES[Math.floor(i / SYLLABLES.length) % SYLLABLES.length] as string;
  const c = SYLLABLES[Math.floor(i / SYLLABLES.length ** 2) % SYLLABLES.length] as string;
  vocabulary.push(`${a}${b}${c}`);
}

/** TOPICS topics of 10 words each (word i belongs to topic i mod TOPICS); an atom draws most of its words from one topic, as real documents do. */
const TOPICS = 290;
const TOPIC_WORDS = vocabulary.slice(WORDS.length);
const topicWords: string[][] = Array.from({ length: TOPICS }, (_, t) => TOPIC_WORDS.filter((_, i) => i % TOPICS === t));

function writer(rand: () => number) {
  // Zipf-like background words (the maintenance terms, common everywhere), then the atom's main
  // topic, and a second topic (half the time from the same field of ten) as real documents mix subjects.
  const background = () => WORDS[Math.floor(WORDS.length * rand() ** 2)] as string;
  return (topic: number, k: number, second = topic) => {
    const words = (t: number) => topicWords[t] as string[];
    return Array.from({ length: k }, () => {
      const r = rand();
      const from = r < 0.45 ? words(topic) : r < 0.65 ? words(second) : undefined;
      return from ? (from[Math.floor(rand() * from.length)] as string) : background();
    }).join(' ');
  };
}

/**
 * `n` atoms of industrial-maintenance text with topic structure (so nearest
 * neighbours exist, as with real embeddings; uniform word salad makes every
 * distance a near-tie). Every atom has `metadata.site` (one of 100, so a filter
 * on one keeps 1% of rows) and a manufacturer (one of 7).
 */
export function corpus(n: number, seed: number, prefix = 'bench:atom'): AtomInput[] {
  const rand = mulberry32(seed);
  const write = writer(rand);
  return Array.from({ length: n }, (_, i) => {
    const topic = Math.floor(rand() * TOPICS);
    const second = rand() < 0.5 ? topic - (topic % 10) + Math.floor(rand() * 10) : Math.floor(rand() * TOPICS);
    return {
      atomId: `${prefix}-${i}`,
      atomType: 'reference' as const,
      title: write(topic, 5, second),
      summary: write(topic, 12, second),
      content: write(topic, 60, second),
      keywords: [write(topic, 1), write(topic, 1), write(topic, 1)],
      manufacturer: `vendor-${i % 7}`,
      metadata: { site: `site-${Math.floor(rand() * 100)}` },
    };
  });
}

/** The text the library embeds an atom from (before defaults are applied), so a baseline embeds the same. */
export function atomText(atom: AtomInput): string {
  return embeddingText({ ...atom, keywords: atom.keywords ?? [] });
}

/** `count` search queries: three words of one topic and a common word, as a question about one subject reads. */
export function queries(count: number, seed = 7): string[] {
  const rand = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const own = topicWords[Math.floor(rand() * TOPICS)] as string[];
    const word = () => own[Math.floor(rand() * own.length)] as string;
    return [word(), word(), WORDS[Math.floor(WORDS.length * rand() ** 2)], word()].join(' ');
  });
}

function fnv(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** A unit vector of `dim` Gaussian-ish components from a seed. */
function randomUnit(dim: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  const v = new Float64Array(dim);
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = rand() + rand() + rand() - 1.5;
    norm += (v[i] as number) ** 2;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < dim; i++) v[i] = (v[i] as number) / norm;
  return v;
}

/**
 * Embeddings with the structure of a real model's, for this corpus, with no
 * model: each word's vector is its topics' directions plus its own, and a text
 * is the normalised mean of its words. Texts on one topic sit close together,
 * texts sharing words closer still, as real embeddings of real text do.
 */
export class TopicEmbedder {
  readonly model = 'bench-topic-v1';
  private readonly words = new Map<string, Float64Array>();
  private readonly topicsOf = new Map<string, number[]>();
  private readonly centroids: Float64Array[];
  private readonly fields: Float64Array[];
  private readonly shared: Float64Array;

  constructor(readonly dimensions: number) {
    this.centroids = Array.from({ length: TOPICS }, (_, t) => randomUnit(dimensions, 1_000_003 + t));
    this.fields = Array.from({ length: 29 }, (_, f) => randomUnit(dimensions, 2_000_003 + f));
    this.shared = randomUnit(dimensions, 3_000_017);
    topicWords.forEach((words, topic) => {
      for (const w of words) this.topicsOf.set(w, [...(this.topicsOf.get(w) ?? []), topic]);
    });
  }

  private word(w: string): Float64Array {
    let v = this.words.get(w);
    if (!v) {
      // Its own direction, its topic's, its topic's field's (ten topics to a field), and the one all text shares.
      v = randomUnit(this.dimensions, fnv(w));
      for (const topic of this.topicsOf.get(w) ?? []) {
        const c = this.centroids[topic] as Float64Array;
        const f = this.fields[Math.floor(topic / 10) % this.fields.length] as Float64Array;
        for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * 1.2 + (c[i] as number) + 0.8 * (f[i] as number);
      }
      for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) + 0.9 * (this.shared[i] as number);
      this.words.set(w, v);
    }
    return v;
  }

  embed(texts: string[]): Promise<number[][]> {
    return Promise.resolve(
      texts.map((text) => {
        const sum = new Float64Array(this.dimensions);
        for (const w of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
          const v = this.word(w);
          for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (v[i] as number);
        }
        let norm = 0;
        for (const x of sum) norm += x * x;
        norm = Math.sqrt(norm) || 1;
        // Six decimals, as an API would send them (Math.round: toFixed costs more than the rest).
        return Array.from(sum, (x) => Math.round((x / norm) * 1e6) / 1e6);
      }),
    );
  }
}

/** A hit ranked by one or both halves of a hybrid search: its 1-based rank in each half it came from. */
export interface RankedHit {
  score: number;
  textRank?: number;
  vectorRank?: number;
}

/** Reciprocal rank fusion constant (the usual 60). */
export const RRF_K = 60;

/**
 * Reciprocal rank fusion of the two halves: a hit found by both keeps both
 * ranks; its score is the sum of 1 / (RRF_K + rank) over them. Ties break by
 * key, so every provider answers the same order.
 */
export function fuseByRank<H extends RankedHit>(textHits: H[], vectorHits: H[], limit: number, keyOf: (hit: H) => string): H[] {
  const merged = new Map<string, H>();
  for (const hit of [...textHits, ...vectorHits]) {
    const key = keyOf(hit);
    merged.set(key, { ...merged.get(key), ...hit, score: 0 });
  }
  for (const hit of merged.values()) {
    hit.score = (hit.textRank ? 1 / (RRF_K + hit.textRank) : 0) + (hit.vectorRank ? 1 / (RRF_K + hit.vectorRank) : 0);
  }
  return [...merged.values()].sort((a, b) => b.score - a.score || keyOf(a).localeCompare(keyOf(b))).slice(0, limit);
}

/**
 * Poll until `check` holds, every `everyMs` (bounded: a guard against hangs,
 * not a speed check). Tests wait for the state they need, never for a fixed
 * time: a fixed sleep is a guess at this machine's speed, and CI guessed wrong.
 */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 15_000, everyMs = 50): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

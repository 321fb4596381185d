import { logger } from '../observability/logger.js';
import type { Provider, ProviderSet } from '../providers/index.js';

/**
 * Best-effort work on every configured provider's direct connection, one after
 * another: a provider that cannot be reached, or whose work fails, is logged
 * (`failure` says what could not be done) and answers null; the rest go on.
 */
export async function onEachReachable<T>(
  providers: ProviderSet,
  failure: string,
  fn: (provider: Provider) => Promise<T>,
): Promise<Record<string, T | null>> {
  const answers: Record<string, T | null> = {};
  for (const name of providers.names) {
    try {
      answers[name] = await fn((await providers.get(name)).direct());
    } catch (error) {
      logger().warn({ provider: name, err: (error as Error).message }, failure);
      answers[name] = null;
    }
  }
  return answers;
}

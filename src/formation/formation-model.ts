/**
 * The language model memory formation writes with: the caller's own (any AI
 * SDK `LanguageModel`, from their provider package). `ai` is an optional peer
 * dependency, loaded only when a model is configured and first used, so the
 * library installs and starts without it.
 */
import type { LanguageModel } from 'ai';
import type { z } from 'zod';
import { ModelOutputRefusedError } from '../errors/index.js';
import { formationCallsTotal, formationTokensTotal } from '../observability/metrics.js';

export type FormationKind = 'extraction' | 'summary';

/** The model's name for metrics and provenance: `provider:modelId`, or the gateway string as given. */
export function modelLabel(model: LanguageModel): string {
  return typeof model === 'string' ? model : `${model.provider}:${model.modelId}`;
}

/**
 * One structured call: the model's answer parsed by `schema`. Output that is
 * not JSON or not of the schema is a ModelOutputRefusedError; a failed call
 * is rethrown as it came. Calls and tokens are counted per kind and model.
 */
export async function generateStructured<T>(
  kind: FormationKind,
  model: LanguageModel,
  request: { schema: z.ZodType<T>; system: string; prompt: string; abortSignal?: AbortSignal },
): Promise<T> {
  const { generateObject, NoObjectGeneratedError } = await import('ai');
  const label = modelLabel(model);
  try {
    const result = await generateObject({
      model,
      schema: request.schema,
      system: request.system,
      prompt: request.prompt,
      maxRetries: 1,
      ...(request.abortSignal ? { abortSignal: request.abortSignal } : {}),
    });
    formationTokensTotal.inc({ kind, model: label, direction: 'input' }, result.usage.inputTokens ?? 0);
    formationTokensTotal.inc({ kind, model: label, direction: 'output' }, result.usage.outputTokens ?? 0);
    return result.object as T;
  } catch (error) {
    if (NoObjectGeneratedError.isInstance(error)) {
      formationCallsTotal.inc({ kind, model: label, outcome: 'refused' });
      const usage = error.usage;
      if (usage) {
        formationTokensTotal.inc({ kind, model: label, direction: 'input' }, usage.inputTokens ?? 0);
        formationTokensTotal.inc({ kind, model: label, direction: 'output' }, usage.outputTokens ?? 0);
      }
      throw new ModelOutputRefusedError(`the model's ${kind} output was refused: ${firstLine(error.cause ?? error)}`, { model: label });
    }
    formationCallsTotal.inc({ kind, model: label, outcome: 'failed' });
    throw error;
  }
}

const firstLine = (error: unknown) =>
  String((error as Error)?.message ?? error)
    .split('\n')[0]
    ?.slice(0, 300) ?? '';

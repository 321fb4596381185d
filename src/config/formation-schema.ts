import { z } from 'zod';

/**
 * Memory that forms itself, with the language model the caller passes (createMemory({ model })):
 * with no model, all of it is off and says so; nothing here calls a network by default.
 */
export const formationSchema = z
  .object({
    extraction: z
      .object({
        /** Extract facts, preferences, decisions … from new messages in the background (needs a model). */
        enabled: z.boolean().default(false),
        /** A session is extracted once it has at least this many messages not yet extracted. */
        minMessages: z.number().int().min(1).max(10_000).default(2),
        /** At most this many messages go to the model in one extraction (the rest in the next). */
        maxMessages: z.number().int().min(1).max(1000).default(40),
        /** The user's current memories most relevant to the messages, shown to the model so it can supersede them. */
        knownMemories: z.number().int().min(0).max(200).default(20),
      })
      .strict()
      .prefault({}),
    summaries: z
      .object({
        /** Summarise a session's older messages in the background once they pass thresholdTokens (needs a model). */
        enabled: z.boolean().default(false),
        /** Messages not yet summarised, beyond the newest keepRecent, that make a summary worth writing (≈ 4 characters a token). */
        thresholdTokens: z.number().int().min(100).max(10_000_000).default(4000),
        /** The newest messages a summary leaves out: they stay in context as turns. */
        keepRecent: z.number().int().min(0).max(10_000).default(10),
      })
      .strict()
      .prefault({}),
    /** How often the background worker looks for sessions to extract and summarise. */
    intervalMs: z.number().int().min(10).max(3_600_000).default(5000),
    /** How long a process holds a session it is forming before another may take it (after a crash). */
    leaseMs: z.number().int().min(1000).max(86_400_000).default(300_000),
  })
  .strict()
  .prefault({});

export const workingMemorySchema = z
  .object({
    /** The most tokens one scope's working memory may take (≈ 4 characters a token). */
    budgetTokens: z.number().int().min(16).max(1_000_000).default(2000),
    /** A Markdown scope's document before its first update. */
    template: z.string().max(100_000).optional(),
  })
  .strict()
  .prefault({});

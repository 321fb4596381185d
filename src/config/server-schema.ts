import { z } from 'zod';

/** `agentmem serve`: the HTTP API, MCP over HTTP, metrics and health. */
export const serverSchema = z
  .object({
    /** The port `agentmem serve` listens on (0 picks a free one). */
    port: z.number().int().min(0).max(65535).default(8787),
    /** The address it listens on (loopback by default; 0.0.0.0 for every interface). */
    host: z.string().min(1).default('127.0.0.1'),
    /** Larger request bodies get 413 and nothing is written. */
    bodyLimitBytes: z
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024 * 1024)
      .default(5 * 1024 * 1024),
    /** How long a client may take to send a whole request (408 beyond). */
    requestTimeoutMs: z.number().int().min(1000).max(3_600_000).default(30_000),
    /** Per API key: at most `max` requests in `windowMs` (429 with Retry-After beyond). */
    rateLimit: z
      .object({
        /** Requests allowed per key in a window. */
        max: z.number().int().min(1).default(1200),
        /** The window's length. */
        windowMs: z.number().int().min(1000).default(60_000),
      })
      .strict()
      .prefault({}),
    /** Browser origins allowed to call the API (CORS); none by default. */
    cors: z
      .object({
        /** Exact origins (`https://app.example.com`). */
        origins: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .prefault({}),
    /** Client addresses allowed (IPs or CIDRs); empty allows every address. */
    allowIps: z.array(z.string().min(1)).default([]),
    /**
     * Host names the server answers to (the Host header, and the host of a browser's Origin): a
     * request naming another gets 403, so a DNS-rebinding page cannot reach it. Empty: the loopback
     * names when bound to loopback (the default), any host otherwise.
     */
    allowedHosts: z.array(z.string().min(1)).default([]),
    /** Behind a reverse proxy: trust X-Forwarded-For from it (true, or the proxies' addresses/CIDRs). */
    trustProxy: z.union([z.boolean(), z.array(z.string().min(1))]).default(false),
    /** HTTPS with this certificate and key (PEM files). */
    tls: z
      .object({
        /** The certificate chain (PEM). */
        certFile: z.string().min(1),
        /** Its private key (PEM). */
        keyFile: z.string().min(1),
      })
      .strict()
      .optional(),
  })
  .strict()
  .prefault({});

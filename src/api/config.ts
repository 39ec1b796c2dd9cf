import { z } from 'zod';

/** Every setting of the HTTP API and its default, written once. */
export const apiConfig = z
  .object({
    /** The address the API listens on; loopback unless told otherwise (anything else belongs behind a TLS-terminating proxy). */
    host: z.string().min(1).default('127.0.0.1'),
    /** The port; 0 takes any free one. */
    port: z.number().int().min(0).max(65_535).default(7070),
    /** The largest request body accepted; a larger one is refused with 413. */
    bodyLimitBytes: z.number().int().positive().default(1024 * 1024),
    /** Requests one token (or, without one, one address) may send per minute; past it, 429. */
    rateLimitPerMinute: z.number().int().positive().default(1200),
    /** Origins a browser may call the API from; none by default (CORS off). */
    corsOrigins: z.array(z.string().min(1)).default([]),
    /** How long a server trusts a token it found valid before it looks it up again: a revocation takes effect within this. */
    tokenRecheckMs: z.number().int().min(0).max(60_000).default(5_000),
    /** How long an operator action waits for the agent that carries it out to answer. */
    agentTimeoutMs: z.number().int().positive().default(5_000),
    /** Events `/events` keeps for clients that reconnect with Last-Event-ID; one that missed more is told to read the state again. */
    eventReplayWindow: z.number().int().min(0).max(100_000).default(1000),
    /** How often an idle `/events` stream gets a comment line, so proxies keep it open. */
    eventHeartbeatMs: z.number().int().positive().default(15_000),
    /** Unsent output an `/events` client may have before it is dropped as too slow. */
    eventClientBufferBytes: z.number().int().positive().default(1024 * 1024),
    /** The longest a bot's claim waits for a task before it is answered with none (the bot then asks again). */
    botPollWaitMs: z.number().int().min(0).max(120_000).default(25_000),
    /** How often the server asks the store, for all waiting bots at once, whether any of them has work. */
    botPollIntervalMs: z.number().int().positive().max(60_000).default(250),
    /** Requests one bot may send per minute to the bot routes (heartbeats, claims, reports); past it, 429. */
    botRateLimitPerMinute: z.number().int().positive().default(12_000),
    /** PEM files the API serves TLS with: both, or neither (then plain HTTP, for loopback or behind a TLS-terminating proxy). */
    tlsKeyFile: z.string().min(1).optional(),
    tlsCertFile: z.string().min(1).optional(),
  })
  .strict()
  .refine((c) => (c.tlsKeyFile === undefined) === (c.tlsCertFile === undefined), {
    message: 'tlsKeyFile and tlsCertFile go together: set both to serve TLS, or neither',
    path: ['tlsCertFile'],
  });

export type ApiOptions = z.input<typeof apiConfig>;
export type ApiConfig = z.output<typeof apiConfig>;

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { AGENTMEM_VERSION } from '../core/version.js';
import { loadOptional, serveFileFor } from '../errors/index.js';
import { logger, setLogLevel } from '../observability/logger.js';
import { ApiKeys, KEY_SCOPES, type KeyScope } from '../server/keys.js';
import { untilSignal, withMemory } from './context.js';
import { LOG_LEVELS, runLoop } from './monitor.js';
import { EXIT, out, table } from './output.js';
import { durationOption, port } from './parsers.js';

/**
 * The server and the MCP server are optional dependencies (the library
 * installs without them): loaded when a command needs them, or an error
 * that says what to install.
 */
const SERVER_PACKAGES = ['fastify', '@fastify/cors', '@fastify/rate-limit', 'fastify-plugin', '@modelcontextprotocol/sdk'];
const MCP_PACKAGES = ['@modelcontextprotocol/sdk'];
const loadServer = () => loadOptional('agentmem serve', SERVER_PACKAGES, () => import('../server/app.js'));
const loadMcp = () =>
  loadOptional('agentmem mcp', MCP_PACKAGES, async () => ({
    ...(await import('../server/mcp.js')),
    ...(await import('@modelcontextprotocol/sdk/server/stdio.js')),
  }));

export function serveCommand(): Command {
  return new Command('serve')
    .description('serve the HTTP API (/v1, OpenAPI at /v1/openapi.json), /healthz and /metrics; drains in-flight requests on SIGTERM')
    .option('--port <port>', 'port to listen on (0 picks a free one; default server.port, 8787)', port)
    .option('--host <address>', 'address to listen on (default server.host, 127.0.0.1)')
    .option('--metrics', 'serve only /metrics and /healthz (refreshed by periodic health checks), no API')
    .option(
      '--no-embeddings',
      'do not run the embedding worker (recall.embed.mode: worker embeds memories and messages for recall by meaning)',
    )
    .addOption(durationOption('--interval <duration>', 'with --metrics: time between health checks', 15_000))
    .addOption(new Option('--log-level <level>', 'log level (JSON lines on stderr)').choices(LOG_LEVELS).default('info'))
    .action(
      async (
        flags: { metrics?: boolean; port?: number; host?: string; interval: number; logLevel: string; embeddings: boolean },
        command: Command,
      ) => {
        if (flags.metrics) {
          process.exitCode = await runLoop(
            command,
            { interval: flags.interval, metricsPort: flags.port ?? 9464, host: flags.host ?? '127.0.0.1', logLevel: flags.logLevel },
            { history: false, alerts: false, backups: false, name: 'serve' },
          );
          return;
        }
        const { buildServer } = await loadServer();
        process.exitCode = await withMemory(
          command,
          async (memory) => {
            setLogLevel(flags.logLevel);
            const log = logger().child({ component: 'serve' });
            const config = memory.config.server;
            const tls = config.tls ? { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) } : undefined;
            const app = await buildServer({
              memory,
              keys: new ApiKeys(memory),
              config,
              version: AGENTMEM_VERSION,
              ...(tls ? { tls } : {}),
            });
            const signal = untilSignal();
            let serveFile: string | undefined;
            try {
              const url = await app.listen({ port: flags.port ?? config.port, host: flags.host ?? config.host });
              // Holding the embedded database: say where, so other commands can act through this server.
              if (!memory.config.providers.length) {
                serveFile = serveFileFor(resolve(memory.config.embedded.dataDir));
                writeFileSync(serveFile, JSON.stringify({ url, pid: process.pid }));
              }
              log.info({ address: url, openapi: `${url}/v1/openapi.json` }, 'agentmem API listening');
              // A line on stdout too, for whoever started it (and the tests): where to reach it.
              out.line(`agentmem API listening on ${url}`);
              const received = await signal.stopped;
              log.info({ signal: received }, 'draining in-flight requests');
              // close() answers what is in flight; a keep-alive connection that goes idle after its
              // answer is closed at once (else close() waits out the keep-alive timeout, 72 s).
              const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
              try {
                await app.close();
              } finally {
                clearInterval(sweep);
              }
              log.info('serve stopped');
              return EXIT.ok;
            } finally {
              signal.dispose();
              if (serveFile) rmSync(serveFile, { force: true });
            }
          },
          { handleSignals: false, workers: flags.embeddings },
        );
      },
    );
}

export function keysCommand(): Command {
  const keys = new Command('keys').description(
    'API keys for `agentmem serve`: each acts as one tenant (--tenant, else the config tenant), with a scope',
  );
  keys
    .command('create')
    .description('create a key; it is shown once (only its scrypt hash is stored)')
    .addOption(new Option('--scope <scope>', 'read, write (includes read) or admin').choices(KEY_SCOPES).default('read'))
    .option('--name <name>', 'a label for the key')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { scope: KeyScope; name?: string; json?: boolean }, command: Command) => {
      await withMemory(command, async (memory) => {
        // The tenant every request with this key runs as: --tenant (a global option), else the config's.
        const created = await new ApiKeys(memory).create(memory.tenant, flags.scope, flags.name);
        if (flags.json) return out.json(created);
        out.line(`key ${created.id} for tenant ${created.tenant}, scope ${created.scope}:`);
        out.line(created.key);
        out.note('agentmem: the key is shown once; store it now (only its hash is kept)');
      });
    });
  keys
    .command('list')
    .description("a tenant's keys: id, scope, created, last used, revoked (never the key)")
    .option('--json', 'print the result as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withMemory(command, async (memory) => {
        const list = await new ApiKeys(memory).list(memory.tenant);
        if (flags.json) return out.json(list);
        if (!list.length) return out.line('no keys');
        out.line(
          table(
            list.map((k) => ({
              id: k.id,
              scope: k.scope,
              name: k.name ?? '',
              created: k.createdAt,
              'last used': k.lastUsedAt ?? '',
              revoked: k.revokedAt ?? '',
            })),
            ['id', 'scope', 'name', 'created', 'last used', 'revoked'],
          ),
        );
      });
    });
  keys
    .command('revoke')
    .description('revoke a key: every server refuses it from the next request on')
    .argument('<id>', 'key id (from keys list)')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, flags: { json?: boolean }, command: Command) => {
      await withMemory(command, async (memory) => {
        const revoked = await new ApiKeys(memory).revoke(memory.tenant, id);
        if (flags.json) return out.json(revoked);
        out.line(`key ${revoked.id} revoked at ${revoked.revokedAt}`);
      });
    });
  return keys;
}

export function mcpCommand(): Command {
  return new Command('mcp')
    .description('an MCP server over stdio (for Claude Desktop, Cursor and other hosts), acting as --tenant (else the config tenant)')
    .action(async (_flags, command: Command) => {
      // stdout carries the protocol: logs go to stderr (as they always do), nothing else is printed.
      const { createMcpServer, StdioServerTransport } = await loadMcp();
      await withMemory(
        command,
        async (memory) => {
          const server = createMcpServer(memory);
          const transport = new StdioServerTransport();
          // Over when the host closes the connection (or our stdin ends), or on a signal.
          const closed = new Promise<void>((resolve) => {
            transport.onclose = () => resolve();
            process.stdin.once('end', () => resolve());
          });
          const signal = untilSignal();
          try {
            await server.connect(transport);
            await Promise.race([closed, signal.stopped]);
          } finally {
            signal.dispose();
            await server.close();
          }
        },
        { handleSignals: false },
      );
    });
}

import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { importAtoms } from '../memory/index.js';
import { printSearch } from './atoms.js';
import { withMemory } from './context.js';
import { out } from './output.js';

const DEMO_ATOMS = new URL('../../data/demo-atoms.json', import.meta.url);

export function demoCommand(): Command {
  return new Command('demo')
    .description('a short tour on the configured (by default embedded) database: a session, typed memories, knowledge search')
    .option('--json', 'print what the demo did as JSON')
    .action(async (flags, command: Command) => {
      await withMemory(command, async (memory) => {
        const say = flags.json ? () => undefined : out.line;
        // The demo's store migrates the primary itself, so a fresh machine needs nothing else.
        const providers = memory.config.providers;
        say(
          `agentmem demo — ${providers.length ? `provider ${providers[0]?.name}` : `embedded database in ${memory.config.embedded.dataDir}`}`,
        );

        const session = await memory.sessions.create({
          agentId: 'maintenance-assistant',
          userId: 'technician-7',
          title: 'Conveyor motor trips after restart',
        });
        const turns = [
          { role: 'system', content: 'You are a maintenance assistant for a packaging plant. Cite the knowledge base.' },
          { role: 'user', content: 'The conveyor motor trips its overload a few minutes after every restart. What should I check?' },
          {
            role: 'assistant',
            content:
              'Check the three phase currents against the nameplate, the voltage unbalance, and whether the motor is being restarted before it cools.',
          },
          { role: 'user', content: 'Currents are 10% above nameplate on all phases and the gearbox feels hot.' },
          {
            role: 'assistant',
            content:
              'That points to a mechanical overload: inspect the gearbox oil and the conveyor for a jam before resetting the relay again.',
          },
        ] as const;
        for (const turn of turns) await memory.sessions.addMessage(session.id, { role: turn.role, content: turn.content });
        say(`\nsession ${session.id}: ${turns.length} messages saved`);

        const stored = [
          await memory.memories.remember({
            type: 'issue',
            content: { summary: 'Conveyor motor overload trips after restart', line: 'packaging-3' },
            sessionId: session.id,
            importance: 0.8,
          }),
          await memory.memories.remember({
            type: 'decision',
            content: { decision: 'Inspect the gearbox before resetting the overload again' },
            sessionId: session.id,
            importance: 0.9,
          }),
          await memory.memories.remember({
            type: 'action',
            content: { action: 'Measured phase currents', result: '10% above nameplate' },
            sessionId: session.id,
          }),
          await memory.memories.remember({
            type: 'context',
            content: { plant: 'packaging', shift: 'night' },
            sessionId: session.id,
            importance: 0.3,
          }),
        ];
        say(`stored ${stored.length} typed memories (issue, decision, action, context)`);

        const report = await importAtoms(memory.atoms, readFileSync(DEMO_ATOMS, 'utf8'));
        say(
          `knowledge atoms: ${report.total} read, ${report.inserted} new, ${report.updated} updated, ${report.unchanged} unchanged, ${report.invalid.length} invalid`,
        );

        const query = 'motor overheating after restart';
        const searches = [];
        for (const mode of ['text', 'vector', 'hybrid'] as const) {
          const result = await memory.atoms.search(query, { mode, limit: 3 });
          searches.push(result);
          if (!flags.json) {
            out.line(`\nsearch "${query}"`);
            printSearch(result);
          }
        }
        const decisions = await memory.memories.recall({ types: ['decision'], sessionId: session.id });
        const window = await memory.sessions.contextWindow(session.id, 80);
        say(`\ndecisions in this session: ${decisions.map((d) => JSON.stringify(d.content)).join('; ')}`);
        say(`context window of 80 tokens keeps ${window.length} of ${turns.length} messages (the system prompt and the newest turns)`);
        say(`\nnext: agentmem session show ${session.id}   ·   agentmem atoms search "pump noise"   ·   agentmem status`);
        if (flags.json)
          out.json({ session: await memory.sessions.load(session.id), memories: stored, atoms: report, searches, contextWindow: window });
      });
    });
}

import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { COMMANDS } from '../../src/core/commands.js';

describe('command hints', () => {
  it('every command a message tells people to run exists in the CLI', () => {
    const program = buildProgram();
    for (const [name, text] of Object.entries(COMMANDS)) {
      const words = text.split(' ').slice(1);
      let command = program;
      for (const word of words) {
        const sub = command.commands.find((c) => c.name() === word);
        expect(sub, `${name}: "${text}" (no "${word}")`).toBeDefined();
        command = sub as typeof command;
      }
    }
  });
});

import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUTS, type ResolvedProvider, tlsCheck } from '../../src/index.js';

const provider = (url: string): ResolvedProvider => ({
  name: 'x',
  kind: 'postgres',
  role: 'primary',
  url,
  pool: { max: 1, idleTimeoutMs: 0 },
  timeouts: { ...DEFAULT_TIMEOUTS },
});

describe('verify: TLS check per provider', () => {
  it('passes verify-full to a remote host and warns on anything weaker', () => {
    expect(tlsCheck(provider('postgres://u:p@db.example.com/app?sslmode=verify-full'))[0]).toBe('PASS');
    for (const mode of ['require', 'verify-ca', 'prefer', 'disable']) {
      const [status, detail] = tlsCheck(provider(`postgres://u:p@db.example.com/app?sslmode=${mode}`));
      expect(status, mode).toBe('WARN');
      expect(detail).toContain('weaker than verify-full');
    }
    expect(tlsCheck(provider('postgres://u:p@db.example.com/app'))).toEqual([
      'WARN',
      'sslmode none to a remote host: weaker than verify-full (add ?sslmode=verify-full to the URL)',
    ]);
  });

  it('does not ask for TLS on loopback or a Unix socket', () => {
    for (const url of ['postgres://u:p@127.0.0.1:5432/app', 'postgres://u:p@localhost/app', 'postgres://u:p@[::1]:5432/app']) {
      expect(tlsCheck(provider(url))[0], url).toBe('PASS');
    }
  });
});

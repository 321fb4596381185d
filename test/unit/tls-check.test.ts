import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUTS } from '../../src/config/index.js';
import { type ResolvedProvider, tlsCheck } from '../../src/ops/index.js';
import { withTlsDefault } from '../../src/providers/index.js';

const provider = (url: string): ResolvedProvider => ({
  name: 'x',
  kind: 'postgres',
  role: 'primary',
  url,
  pool: { max: 1, idleTimeoutMs: 0 },
  timeouts: { ...DEFAULT_TIMEOUTS },
});

describe('verify: TLS check per provider', () => {
  it('passes verify-full to a remote host (the default when a URL names no sslmode) and fails anything weaker', () => {
    expect(tlsCheck(provider('postgres://u:p@db.example.com/app?sslmode=verify-full'))[0]).toBe('PASS');
    expect(tlsCheck(provider('postgres://u:p@db.example.com/app'))[0]).toBe('PASS');
    expect(withTlsDefault('postgres://u:p@db.example.com/app')).toBe('postgres://u:p@db.example.com/app?sslmode=verify-full');
    expect(withTlsDefault('postgres://u:p@127.0.0.1:5432/app')).toBe('postgres://u:p@127.0.0.1:5432/app');
    for (const mode of ['require', 'verify-ca', 'prefer', 'disable']) {
      const [status, detail] = tlsCheck(provider(`postgres://u:p@db.example.com/app?sslmode=${mode}`));
      expect(status, mode).toBe('FAIL');
      expect(detail).toContain('not verified');
    }
  });

  it('does not ask for TLS on loopback or a Unix socket', () => {
    for (const url of ['postgres://u:p@127.0.0.1:5432/app', 'postgres://u:p@localhost/app', 'postgres://u:p@[::1]:5432/app']) {
      expect(tlsCheck(provider(url))[0], url).toBe('PASS');
    }
  });
});

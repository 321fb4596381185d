import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../../src/core/keyed-mutex.js';
import { ProviderUnavailableError, QueryError } from '../../src/errors/index.js';
import { classifyFailure, toConnectError, toProviderError } from '../../src/providers/classify.js';
import { sourceChange } from '../../src/replication/replicator.js';

describe('failure classes', () => {
  it('a provider that refuses us is a provider failure, not an SQL error', () => {
    for (const code of ['28P01', '28000', '3D000', '57P01', '08006', '53100'])
      expect(classifyFailure({ code, message: 'x' }), code).toBe('connection');
    for (const code of ['23505', '42P01', '22P02']) expect(classifyFailure({ code, message: 'x' }), code).toBe('sql');
    // An errno with the shape of a SQLSTATE is still a socket error.
    expect(classifyFailure({ code: 'EPIPE', message: 'write EPIPE' })).toBe('connection');
    expect(toProviderError('p1', { code: '28P01', message: 'password authentication failed for user "x"' }, 1000)).toBeInstanceOf(
      ProviderUnavailableError,
    );
    // A full disk: the provider reads but cannot write, and says so.
    const full = toProviderError('p1', { code: '53100', message: 'could not extend file "base/5/16384": No space left on device' }, 1000);
    expect(full).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', details: { reason: 'disk-full' } });
    expect(full.message).toMatch(/^provider "p1" is unavailable: disk full: the server cannot write/);
  });

  it('whatever fails while connecting is a provider failure (an unreadable CA file included)', () => {
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/nonexistent/ca.pem'"), { code: 'ENOENT' });
    expect(toProviderError('p1', enoent, 1000)).toBeInstanceOf(QueryError);
    const atConnect = toConnectError('p1', enoent, 1000);
    expect(atConnect).toBeInstanceOf(ProviderUnavailableError);
    expect(atConnect.message).toMatch(/cannot connect: ENOENT/);
  });
});

describe('replication source identity', () => {
  it('a changed system identifier or a counter below the stored position means another server', () => {
    expect(sourceChange({ position: '5000', system: 'A' }, 'A', '9000')).toBeUndefined();
    expect(sourceChange({ position: '5000', system: 'A' }, 'B', '9000')).toMatch(/system identifier B/);
    expect(sourceChange({ position: '5000', system: null }, null, '800')).toMatch(/transaction counter \(800\) is below/);
    expect(sourceChange({ position: '0', system: null }, null, undefined)).toBeUndefined();
  });
});

describe('KeyedMutex', () => {
  it('runs one holder per key at a time, in arrival order, and other keys alongside', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const hold = (key: string, name: string, ms: number) =>
      mutex.run(key, async () => {
        log.push(`${name}+`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${name}-`);
      });
    await Promise.all([hold('a', 'a1', 30), hold('a', 'a2', 1), hold('b', 'b1', 1)]);
    expect(log.indexOf('a1-')).toBeLessThan(log.indexOf('a2+'));
    expect(log.indexOf('b1-')).toBeLessThan(log.indexOf('a1-'));
    await expect(mutex.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await mutex.run('a', async () => 'after a failure')).toBe('after a failure');
  });
});

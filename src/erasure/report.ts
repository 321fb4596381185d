import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../errors/index.js';

/** What an erasure report signs: canonical JSON (keys sorted at every level), so any tool can check it. */
export function canonicalJson(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : v;
  return JSON.stringify(sorted(value));
}

export interface SignedReport<T> {
  report: T;
  signature: {
    algorithm: 'ed25519';
    /** The signer's public key (SPKI, PEM): what an auditor checks the signature with, and compares with the operator's. */
    publicKey: string;
    /** base64 of the Ed25519 signature over canonicalJson(report). */
    value: string;
  };
}

/**
 * The key that signs erasure reports: AGENTMEM_ERASURE_SIGNING_KEY (a PEM
 * private key), else the file (PKCS#8 PEM), made with mode 0600 on first use.
 */
export function loadSigningKey(file: string, env: Record<string, string | undefined> = process.env): { key: KeyObject; created: boolean } {
  const fromEnv = env.AGENTMEM_ERASURE_SIGNING_KEY;
  try {
    if (fromEnv) return { key: createPrivateKey(fromEnv), created: false };
    if (existsSync(file)) return { key: createPrivateKey(readFileSync(file)), created: false };
  } catch (error) {
    throw new ConfigError(
      `the erasure signing key ${fromEnv ? 'in AGENTMEM_ERASURE_SIGNING_KEY' : `in ${file}`} is not a PEM private key`,
      {
        reason: (error as Error).message,
      },
    );
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  chmodSync(file, 0o600);
  return { key: privateKey, created: true };
}

export function signReport<T>(report: T, key: KeyObject): SignedReport<T> {
  if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError('the erasure signing key must be an Ed25519 key');
  return {
    report,
    signature: {
      algorithm: 'ed25519',
      publicKey: createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString(),
      value: sign(null, Buffer.from(canonicalJson(report)), key).toString('base64'),
    },
  };
}

/**
 * Whether a signed report is intact: its signature checks out with the key it
 * names, and — when `expectedPublicKey` is given — that key is the expected one.
 */
export function verifyReport(signed: SignedReport<unknown>, expectedPublicKey?: string): { ok: boolean; reason?: string } {
  try {
    if (signed?.signature?.algorithm !== 'ed25519') return { ok: false, reason: 'not an ed25519-signed report' };
    const key = createPublicKey(signed.signature.publicKey);
    if (expectedPublicKey) {
      const expected = createPublicKey(expectedPublicKey).export({ type: 'spki', format: 'der' });
      if (!expected.equals(key.export({ type: 'spki', format: 'der' }))) return { ok: false, reason: 'signed by another key' };
    }
    const ok = verify(null, Buffer.from(canonicalJson(signed.report)), key, Buffer.from(signed.signature.value, 'base64'));
    return ok ? { ok } : { ok, reason: 'the signature does not match the report (changed after signing)' };
  } catch (error) {
    return { ok: false, reason: `unreadable signature: ${(error as Error).message}` };
  }
}

/** The public key (PEM) of a private key: what an operator hands an auditor. */
export function publicKeyOf(key: KeyObject): string {
  return createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
}

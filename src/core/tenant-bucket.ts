import { createHash } from 'node:crypto';

/** How many HNSW graphs knowledge atoms are spread over, by tenant (migration 0008). */
export const TENANT_BUCKETS = 16;

/**
 * The bucket of a tenant, as the database's tenant_bucket() computes it: the
 * first byte of md5(tenant) modulo TENANT_BUCKETS. A search names it as a
 * constant, so the planner can pick that bucket's partial index.
 */
export function tenantBucket(tenant: string): number {
  return (createHash('md5').update(tenant, 'utf8').digest()[0] as number) % TENANT_BUCKETS;
}

export {
  applyErasures,
  coveredBy,
  type ErasedCounts,
  type Erasure,
  type ErasureSubject,
  emptyCounts,
  mergeLedgers,
  readLedger,
  recordLedger,
} from './ledger.js';
export { canonicalJson, loadSigningKey, publicKeyOf, type SignedReport, signReport, verifyReport } from './report.js';

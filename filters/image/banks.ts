/**
 * Hash banks: named lists of known-bad image hashes, each with what a match means (category,
 * severity), how close counts as a match (threshold), and whether it enforces (`enabled`) or only
 * reports (`shadow`: findings recorded, nothing refused — to try a bank on live traffic first).
 *
 * Managed at run time (admin events), and serialisable: `snapshot()` is plain JSON that the
 * gateway stores in Redis and ships to every node, `restore()` replaces the whole state atomically
 * (validated first: a bad snapshot changes nothing). `version` counts changes.
 *
 * One HashIndex per algorithm holds the hashes of every bank of that algorithm, so a query costs
 * the same with 1 bank or 50. A hash in two banks is filed twice (one id per bank membership).
 */
import { z } from 'zod';
import type { Severity } from '../pipeline.ts';
import { BLOCKHASH_MATCH_THRESHOLD } from './blockhash.ts';
import { HASH256_BITS, HASH256_WORDS, hamming256, hash256ToHex, hexToHash256, type Hash256 } from './hash256.ts';
import { HashIndex, type IndexMatch } from './hash-index.ts';
import { PDQ_MATCH_THRESHOLD } from './pdq.ts';
import { runToEnd, type Steps } from './slices.ts';

export type HashAlgorithm = 'pdq' | 'blockhash';
export type BankMode = 'enabled' | 'shadow';

export interface BankConfig {
  id: string;
  name: string;
  category: string;
  severity: Severity;
  algorithm: HashAlgorithm;
  /** Largest Hamming distance (of 256 bits) that counts as a match. */
  threshold: number;
  mode: BankMode;
}

export interface BankInfo extends BankConfig {
  /** Number of hashes in the bank. */
  size: number;
}

/** What `addBank` takes: threshold and mode have defaults. */
export type NewBank = Omit<BankConfig, 'threshold' | 'mode'> & Partial<Pick<BankConfig, 'threshold' | 'mode'>>;
/** What `updateBank` may change (not the id, nor the algorithm: the hashes belong to it). */
export type BankPatch = Partial<Pick<BankConfig, 'name' | 'category' | 'severity' | 'threshold' | 'mode'>>;

export interface BanksSnapshot {
  format: 'modgate.banks/1';
  version: number;
  banks: (BankConfig & { hashes: string[] })[];
}

export interface BankMatch {
  bank: Readonly<BankConfig>;
  /** The banked hash that matched (hex). */
  hashHex: string;
  distance: number;
  /** Which of the query hashes matched (for PDQ: the dihedral index, 0 = the image as sent). */
  queryIndex: number;
}

/** Default thresholds per algorithm (the reference figure for PDQ; see blockhash.ts for ours). */
export const DEFAULT_THRESHOLDS: Readonly<Record<HashAlgorithm, number>> = Object.freeze({ pdq: PDQ_MATCH_THRESHOLD, blockhash: BLOCKHASH_MATCH_THRESHOLD });
/**
 * Highest threshold a bank may set: at 64 of 256 bits, unrelated PDQ hashes start to match (their
 * distances centre on 128 with a spread of 8), and the index's pigeonhole radius (⌊64/16⌋ = 4)
 * would make every query a scan.
 */
export const MAX_THRESHOLD = 64;

/** A bad bank operation (unknown bank, duplicate id, invalid field): the message names the field. */
export class BankError extends Error {
  override readonly name = 'BankError';
  constructor(
    readonly code: 'not_found' | 'conflict' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
const bankId = z.string().regex(/^[a-z0-9][a-z0-9:_-]{0,63}$/, 'bank ids are 1–64 of a-z 0-9 : _ -, starting with a letter or digit');
const fields = {
  name: z.string().trim().min(1).max(120),
  category: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'categories are 1–64 of a-z 0-9 _ -'),
  severity: z.enum(SEVERITIES),
  threshold: z.number().int().min(0).max(MAX_THRESHOLD),
  mode: z.enum(['enabled', 'shadow']),
};
const newBankSchema = z.strictObject({ id: bankId, algorithm: z.enum(['pdq', 'blockhash']), ...fields, threshold: fields.threshold.optional(), mode: fields.mode.optional() });
const patchSchema = z.strictObject({ name: fields.name.optional(), category: fields.category.optional(), severity: fields.severity.optional(), threshold: fields.threshold.optional(), mode: fields.mode.optional() });
const hexSchema = z.string().regex(/^[0-9a-fA-F]{64}$/, 'a 256-bit hash is 64 hex characters');
const snapshotSchema = z.strictObject({
  format: z.literal('modgate.banks/1'),
  version: z.number().int().min(0),
  banks: z.array(z.strictObject({ id: bankId, algorithm: z.enum(['pdq', 'blockhash']), ...fields, hashes: z.array(hexSchema) })),
});

function describe(error: z.ZodError, root: string): string {
  return error.issues.map((i) => `${[root, ...i.path].map((p, n) => (typeof p === 'number' ? `[${p}]` : n ? `.${String(p)}` : String(p))).join('')}: ${i.message}`).join('; ');
}

function parse<T>(schema: z.ZodType<T>, input: unknown, root: string): T {
  const r = schema.safeParse(input);
  if (!r.success) throw new BankError('invalid', describe(r.error, root));
  return r.data;
}

interface BankState {
  config: Readonly<BankConfig>;
  /** Numeric handle stored per index slot (typed array), instead of an object per hash. */
  handle: number;
  /** Banked hashes: lower-case hex → index id. */
  members: Map<string, number>;
}

/** Index of one algorithm plus who owns each of its ids. */
class AlgorithmIndex {
  readonly index = new HashIndex();
  /** owner[id] = bank handle, -1 when free. */
  owner = new Int32Array(1024).fill(-1);

  setOwner(id: number, handle: number): void {
    if (id >= this.owner.length) {
      const grown = new Int32Array(Math.max(id + 1, this.owner.length * 2)).fill(-1);
      grown.set(this.owner);
      this.owner = grown;
    }
    this.owner[id] = handle;
  }
}

export class Banks {
  private readonly byId = new Map<string, BankState>();
  private readonly byHandle = new Map<number, BankState>();
  private nextHandle = 0;
  private indexes: Record<HashAlgorithm, AlgorithmIndex> = { pdq: new AlgorithmIndex(), blockhash: new AlgorithmIndex() };
  private changes = 0;

  /** Counts every change (bank or hash); restored from snapshots. */
  get version(): number {
    return this.changes;
  }

  private info(b: BankState): BankInfo {
    return { ...b.config, size: b.members.size };
  }

  private must(id: string): BankState {
    const b = this.byId.get(id);
    if (!b) throw new BankError('not_found', `no bank "${id}"`);
    return b;
  }

  addBank(input: NewBank): BankInfo {
    const p = parse(newBankSchema, input, 'bank');
    if (this.byId.has(p.id)) throw new BankError('conflict', `bank "${p.id}" exists`);
    const config: BankConfig = Object.freeze({
      id: p.id,
      name: p.name,
      category: p.category,
      severity: p.severity,
      algorithm: p.algorithm,
      threshold: p.threshold ?? DEFAULT_THRESHOLDS[p.algorithm],
      mode: p.mode ?? 'enabled',
    });
    const state: BankState = { config, handle: this.nextHandle++, members: new Map() };
    this.byId.set(config.id, state);
    this.byHandle.set(state.handle, state);
    this.changes++;
    return this.info(state);
  }

  updateBank(id: string, patch: BankPatch): BankInfo {
    const b = this.must(id);
    const p = parse(patchSchema, patch, 'patch');
    const next: BankConfig = { ...b.config };
    for (const [k, v] of Object.entries(p)) if (v !== undefined) (next as unknown as Record<string, unknown>)[k] = v;
    b.config = Object.freeze(next);
    this.changes++;
    return this.info(b);
  }

  removeBank(id: string): boolean {
    const b = this.byId.get(id);
    if (!b) return false;
    const ix = this.indexes[b.config.algorithm];
    for (const slot of b.members.values()) {
      ix.index.remove(slot);
      ix.owner[slot] = -1;
    }
    this.byId.delete(id);
    this.byHandle.delete(b.handle);
    this.changes++;
    return true;
  }

  /** Adds hashes (hex) to a bank; returns how many were new. Validates all before adding any. */
  addHashes(bankId: string, hexes: readonly string[]): number {
    const b = this.must(bankId);
    const list = parse(z.array(hexSchema), hexes, 'hashes').map((h) => h.toLowerCase());
    const fresh = [...new Set(list)].filter((h) => !b.members.has(h));
    if (fresh.length === 0) return 0;
    const ix = this.indexes[b.config.algorithm];
    const ids = ix.index.addMany(fresh.map(hexToHash256));
    fresh.forEach((h, i) => {
      b.members.set(h, ids[i]!);
      ix.setOwner(ids[i]!, b.handle);
    });
    this.changes++;
    return fresh.length;
  }

  /** Removes hashes (hex) from a bank; returns how many were there. */
  removeHashes(bankId: string, hexes: readonly string[]): number {
    const b = this.must(bankId);
    const list = parse(z.array(hexSchema), hexes, 'hashes').map((h) => h.toLowerCase());
    const ix = this.indexes[b.config.algorithm];
    let removed = 0;
    for (const h of new Set(list)) {
      const id = b.members.get(h);
      if (id === undefined) continue;
      ix.index.remove(id);
      ix.owner[id] = -1;
      b.members.delete(h);
      removed++;
    }
    if (removed) this.changes++;
    return removed;
  }

  get(id: string): BankInfo | undefined {
    const b = this.byId.get(id);
    return b ? this.info(b) : undefined;
  }

  list(): BankInfo[] {
    return [...this.byId.values()].map((b) => this.info(b)).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The hashes of one bank (hex, sorted). */
  hashes(bankId: string): string[] {
    return [...this.must(bankId).members.keys()].sort();
  }

  /** Plain JSON of every bank and hash. */
  snapshot(): BanksSnapshot {
    return {
      format: 'modgate.banks/1',
      version: this.changes,
      banks: this.list().map(({ size: _size, ...config }) => ({ ...config, hashes: this.hashes(config.id) })),
    };
  }

  /** Replaces everything with a snapshot; validated first, so a bad one changes nothing. */
  restore(snapshot: unknown): void {
    const s = parse(snapshotSchema, snapshot, 'snapshot');
    const seen = new Set<string>();
    s.banks.forEach((b, i) => {
      if (seen.has(b.id)) throw new BankError('invalid', `snapshot.banks[${i}].id: bank "${b.id}" appears twice`);
      seen.add(b.id);
    });
    const fresh: Record<HashAlgorithm, AlgorithmIndex> = { pdq: new AlgorithmIndex(), blockhash: new AlgorithmIndex() };
    const byId = new Map<string, BankState>();
    const byHandle = new Map<number, BankState>();
    let handle = 0;
    for (const b of s.banks) {
      const { hashes, ...config } = b;
      const state: BankState = { config: Object.freeze(config), handle: handle++, members: new Map() };
      const unique = [...new Set(hashes.map((h) => h.toLowerCase()))];
      const ix = fresh[config.algorithm];
      const ids = ix.index.addMany(unique.map(hexToHash256));
      unique.forEach((h, i) => {
        state.members.set(h, ids[i]!);
        ix.setOwner(ids[i]!, state.handle);
      });
      byId.set(config.id, state);
      byHandle.set(state.handle, state);
    }
    this.indexes = fresh;
    this.byId.clear();
    this.byHandle.clear();
    for (const [k, v] of byId) this.byId.set(k, v);
    for (const [k, v] of byHandle) this.byHandle.set(k, v);
    this.nextHandle = handle;
    this.changes = s.version;
  }

  /** Whether any bank of this algorithm holds a hash (when none does, there is nothing to match). */
  hasHashes(algorithm: HashAlgorithm): boolean {
    return this.indexes[algorithm].index.size > 0;
  }

  /** Largest threshold among the banks of an algorithm (-1 when there are none). */
  private radius(algorithm: HashAlgorithm): number {
    let r = -1;
    for (const b of this.byId.values()) if (b.config.algorithm === algorithm && b.members.size > 0) r = Math.max(r, b.config.threshold);
    return r;
  }

  /**
   * Matches hashes of one image (for PDQ, its eight dihedral hashes) against every bank of the
   * algorithm, as steps (one index query per step). One result per bank: its closest hash, if
   * within the bank's threshold. Closest first.
   */
  *matchSteps(algorithm: HashAlgorithm, queries: readonly Hash256[]): Steps<BankMatch[]> {
    for (const q of queries) if (q.length !== HASH256_WORDS) throw new RangeError(`a 256-bit hash is ${HASH256_WORDS} words, got ${q.length}`);
    const r = this.radius(algorithm);
    if (r < 0 || queries.length === 0) return [];
    const ix = this.indexes[algorithm];
    // Closest query per index id.
    const best = new Map<number, IndexMatch & { q: number }>();
    for (let qi = 0; qi < queries.length; qi++) {
      for (const m of ix.index.query(queries[qi]!, r)) {
        const prev = best.get(m.id);
        if (!prev || m.distance < prev.distance) best.set(m.id, { ...m, q: qi });
      }
      yield;
    }
    // A restore() between steps swapped the index: answer from the new one, in one go.
    if (ix !== this.indexes[algorithm]) return runToEnd(this.matchSteps(algorithm, queries));
    // Banks may have changed between steps: re-check owner and distance against the live state.
    const perBank = new Map<number, BankMatch>();
    for (const m of best.values()) {
      const handle = ix.owner[m.id] ?? -1;
      const bank = this.byHandle.get(handle);
      const stored = ix.index.get(m.id);
      if (!bank || !stored || hamming256(stored, queries[m.q]!) !== m.distance || m.distance > bank.config.threshold) continue;
      const prev = perBank.get(handle);
      if (!prev || m.distance < prev.distance) perBank.set(handle, { bank: bank.config, hashHex: hash256ToHex(stored), distance: m.distance, queryIndex: m.q });
    }
    return [...perBank.values()].sort((a, b) => a.distance - b.distance || a.bank.id.localeCompare(b.bank.id));
  }

  /** `matchSteps`, synchronously. */
  match(algorithm: HashAlgorithm, queries: readonly Hash256[]): BankMatch[] {
    return runToEnd(this.matchSteps(algorithm, queries));
  }
}

/** Score of a match for findings: 1 at distance 0, 0 at 256 bits apart. */
export function matchScore(distance: number): number {
  return 1 - distance / HASH256_BITS;
}

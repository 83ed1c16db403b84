/**
 * Term lists and hash banks managed from the admin door, stored in the shared configuration so
 * every node applies a change within a second and it survives restarts:
 * - `terms` documents, keyed by scope (`global`, `room:<id>`): the scope's terms;
 * - one `banks` document (`all`): the hash banks and their hashes.
 * Each node's keyword filter and image banks are rebuilt from these documents when they change.
 */
import { z } from 'zod';
import { TermLists, TermListError, type Term, type TermInput } from '../filters/keyword/index.ts';
import { Banks, BankError, type BanksSnapshot, type HashAlgorithm } from '../filters/image/banks.ts';
import type { SharedConfig } from './shared-config.ts';
import { ROOM_ID } from './protocol.ts';

const room = z.string().regex(ROOM_ID, 'room id must match ^[a-z0-9][a-z0-9:_-]{0,63}$');
const category = z.string().min(1).max(64);
const termInput = z.union([
  z.string().min(1).max(64),
  z.strictObject({ term: z.string().min(1).max(64), severity: z.enum(['low', 'medium', 'high', 'critical']).optional(), mode: z.enum(['word', 'prefix', 'suffix', 'anywhere']).optional() }),
]);
/** Terms one request may add or remove. */
const MAX_TERMS_PER_REQUEST = 10_000;
/** Hashes one request may add or remove. */
const MAX_HASHES_PER_REQUEST = 10_000;

export const filterAdminSchemas = {
  'terms:add': z.strictObject({ room: room.optional(), terms: z.array(termInput).min(1).max(MAX_TERMS_PER_REQUEST), category, action: z.enum(['mask', 'hold', 'block', 'allow']).optional() }),
  'terms:remove': z.strictObject({ room: room.optional(), terms: z.array(z.string().min(1).max(64)).min(1).max(MAX_TERMS_PER_REQUEST), category: category.optional(), action: z.string().optional() }),
  'terms:list': z.strictObject({ room: room.optional() }),
  'hashes:add': z
    .strictObject({
      hashes: z.array(z.string().regex(/^[0-9a-fA-F]{64}$/, 'a 256-bit hash in hex (64 characters)')).max(MAX_HASHES_PER_REQUEST).optional(),
      image: z.union([z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'image must be base64'), z.instanceof(Uint8Array)]).optional(),
      category,
      /** Extension: which hash the hex strings are (default pdq). */
      algorithm: z.enum(['pdq', 'blockhash']).optional(),
      /** Extension: record matches without refusing (try a bank on live traffic first). */
      mode: z.enum(['enabled', 'shadow']).optional(),
    })
    .refine((x) => x.hashes?.length || x.image !== undefined, { message: 'hashes or image is required', path: ['hashes'] }),
  'hashes:remove': z.strictObject({ hashes: z.array(z.string().regex(/^[0-9a-fA-F]{64}$/)).min(1).max(MAX_HASHES_PER_REQUEST), category, algorithm: z.enum(['pdq', 'blockhash']).optional() }),
} as const;

export const scopeOf = (r: string | undefined) => (r ? `room:${r}` : 'global');

/** The terms a scope will hold after adding `input` (validated the keyword filter's way). */
export function termsAfterAdd(current: readonly Term[], scope: string, input: z.infer<(typeof filterAdminSchemas)['terms:add']>): { terms: Term[]; added: number } {
  const lists = new TermLists();
  lists.restore({ version: 1, lists: { [scope]: [...current] } });
  const inputs: TermInput[] = input.terms.map((t) => ({ ...(typeof t === 'string' ? { term: t } : t), category: input.category, ...(input.action ? { action: input.action } : {}) }));
  const r = lists.add(scope as never, inputs);
  return { terms: lists.list(scope as never), added: r.added + r.updated };
}

export function termsAfterRemove(current: readonly Term[], scope: string, strings: readonly string[]): { terms: Term[]; removed: number } {
  const lists = new TermLists();
  lists.restore({ version: 1, lists: { [scope]: [...current] } });
  const removed = lists.remove(scope as never, strings);
  return { terms: lists.list(scope as never), removed };
}

/** All term documents as a TermLists snapshot (what each node's keyword filter restores). */
export function termsSnapshot(shared: SharedConfig): { version: 1; lists: Record<string, Term[]> } {
  const lists: Record<string, Term[]> = {};
  for (const [scope, terms] of shared.all('terms')) lists[scope] = terms as Term[];
  return { version: 1, lists };
}

export const BANKS_KEY = 'all';
const bankId = (categoryId: string, algorithm: HashAlgorithm) => `${categoryId}:${algorithm}`;

/** Add hashes to the category's bank (created on first use); returns the new snapshot and the count added. */
export function banksAfterAdd(current: BanksSnapshot | undefined, o: { category: string; severity: 'low' | 'medium' | 'high' | 'critical'; algorithm: HashAlgorithm; hexes: readonly string[]; mode?: 'enabled' | 'shadow' }): { snapshot: BanksSnapshot; added: number } {
  const banks = new Banks();
  if (current) banks.restore(current);
  const id = bankId(o.category, o.algorithm);
  if (!banks.get(id)) banks.addBank({ id, name: `${o.category} (${o.algorithm})`, category: o.category, severity: o.severity, algorithm: o.algorithm, ...(o.mode ? { mode: o.mode } : {}) });
  else if (o.mode) banks.updateBank(id, { mode: o.mode });
  const added = banks.addHashes(id, o.hexes);
  return { snapshot: banks.snapshot(), added };
}

export function banksAfterRemove(current: BanksSnapshot | undefined, o: { category: string; algorithm: HashAlgorithm; hexes: readonly string[] }): { snapshot: BanksSnapshot | undefined; removed: number } {
  if (!current) return { snapshot: current, removed: 0 };
  const banks = new Banks();
  banks.restore(current);
  const id = bankId(o.category, o.algorithm);
  if (!banks.get(id)) return { snapshot: current, removed: 0 };
  const removed = banks.removeHashes(id, o.hexes);
  return { snapshot: banks.snapshot(), removed };
}

export { TermListError, BankError };

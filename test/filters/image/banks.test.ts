import { describe, expect, it } from 'vitest';
import { BankError, Banks, DEFAULT_THRESHOLDS, MAX_THRESHOLD, type NewBank } from '../../../filters/image/banks.ts';
import { hash256ToHex, hexToHash256 } from '../../../filters/image/hash256.ts';

const bank = (o: Partial<NewBank> = {}): NewBank => ({ id: 'csam-ncmec', name: 'Known abuse imagery', category: 'csam', severity: 'critical', algorithm: 'pdq', ...o });

/** `hex` with its first `n` bits flipped. */
function near(hex: string, n: number): string {
  const h = hexToHash256(hex);
  for (let b = 0; b < n; b++) h[b >> 5]! ^= 1 << (b & 31);
  return hash256ToHex(h);
}
const H1 = 'd8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22';
const H2 = '54a977c221d14c1c43ba5e6e21d4a13989a3553f1462611cbb85fda7be83b677';
const H3 = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

describe('Banks', () => {
  it('adds a bank with defaults per algorithm, lists it, updates and removes it', () => {
    const b = new Banks();
    expect(b.addBank(bank())).toEqual({ ...bank(), threshold: DEFAULT_THRESHOLDS.pdq, mode: 'enabled', size: 0 });
    expect(b.addBank(bank({ id: 'memes', algorithm: 'blockhash', category: 'spam', severity: 'low', mode: 'shadow' }))).toMatchObject({ threshold: DEFAULT_THRESHOLDS.blockhash, mode: 'shadow' });
    expect(b.list().map((x) => x.id)).toEqual(['csam-ncmec', 'memes']);
    expect(b.updateBank('memes', { mode: 'enabled', threshold: 10 })).toMatchObject({ mode: 'enabled', threshold: 10, algorithm: 'blockhash' });
    expect(b.removeBank('memes')).toBe(true);
    expect(b.removeBank('memes')).toBe(false);
    expect(b.get('memes')).toBeUndefined();
  });

  it.each([
    [{ id: 'Bad Id' }, /bank\.id/],
    [{ category: '' }, /bank\.category/],
    [{ severity: 'extreme' as never }, /bank\.severity/],
    [{ threshold: MAX_THRESHOLD + 1 }, /bank\.threshold/],
    [{ algorithm: 'md5' as never }, /bank\.algorithm/],
    [{ extra: 1 } as never, /bank/],
  ])('refuses an invalid bank %j, naming the field', (patch, message) => {
    const b = new Banks();
    expect(() => b.addBank({ ...bank(), ...patch })).toThrow(message);
    expect(b.list()).toEqual([]);
  });

  it('refuses duplicate ids, unknown banks, and changing the algorithm', () => {
    const b = new Banks();
    b.addBank(bank());
    expect(() => b.addBank(bank())).toThrow(expect.objectContaining({ code: 'conflict' }));
    expect(() => b.addHashes('nope', [H1])).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(() => b.updateBank('csam-ncmec', { algorithm: 'blockhash' } as never)).toThrow(BankError);
  });

  it('adds and removes hashes, case-insensitively and without duplicates; all-or-nothing on bad input', () => {
    const b = new Banks();
    b.addBank(bank());
    expect(b.addHashes('csam-ncmec', [H1, H1.toUpperCase(), H2])).toBe(2);
    expect(b.addHashes('csam-ncmec', [H1])).toBe(0);
    expect(() => b.addHashes('csam-ncmec', [H3, 'xyz'])).toThrow(/hashes\[1\]/);
    expect(b.hashes('csam-ncmec')).toEqual([H2, H1].sort());
    expect(b.removeHashes('csam-ncmec', [H1, H3])).toBe(1);
    expect(b.get('csam-ncmec')?.size).toBe(1);
  });

  it('matches within each bank\'s own threshold; one result per bank, its closest hash', () => {
    const b = new Banks();
    b.addBank(bank({ id: 'strict', threshold: 5 }));
    b.addBank(bank({ id: 'loose', threshold: 40, mode: 'shadow', category: 'spam', severity: 'low' }));
    b.addHashes('strict', [H1]);
    b.addHashes('loose', [near(H1, 20), near(H1, 30)]);
    const q = hexToHash256(near(H1, 3));
    const m = b.match('pdq', [q]);
    expect(m.map((x) => [x.bank.id, x.distance, x.hashHex])).toEqual([
      ['strict', 3, H1],
      ['loose', 17, near(H1, 20)],
    ]);
    expect(b.match('pdq', [hexToHash256(near(H1, 10))]).map((x) => x.bank.id)).toEqual(['loose']);
    expect(b.match('blockhash', [q])).toEqual([]);
  });

  it('takes the best of several query hashes (the dihedral set) and says which one matched', () => {
    const b = new Banks();
    b.addBank(bank());
    b.addHashes('csam-ncmec', [H1]);
    const m = b.match('pdq', [hexToHash256(H2), hexToHash256(H3), hexToHash256(near(H1, 2))]);
    expect(m).toHaveLength(1);
    expect(m[0]).toMatchObject({ distance: 2, queryIndex: 2 });
  });

  it('a removed bank or hash no longer matches', () => {
    const b = new Banks();
    b.addBank(bank());
    b.addBank(bank({ id: 'other' }));
    b.addHashes('csam-ncmec', [H1]);
    b.addHashes('other', [H1]);
    expect(b.match('pdq', [hexToHash256(H1)])).toHaveLength(2);
    b.removeHashes('other', [H1]);
    expect(b.match('pdq', [hexToHash256(H1)]).map((m) => m.bank.id)).toEqual(['csam-ncmec']);
    b.removeBank('csam-ncmec');
    expect(b.match('pdq', [hexToHash256(H1)])).toEqual([]);
  });

  it('snapshot is plain JSON and restore reproduces the state and its version', () => {
    const b = new Banks();
    b.addBank(bank());
    b.addBank(bank({ id: 'memes', algorithm: 'blockhash', category: 'spam', severity: 'low', mode: 'shadow', threshold: 12 }));
    b.addHashes('csam-ncmec', [H1, H2]);
    b.addHashes('memes', [H3]);
    const wire = JSON.parse(JSON.stringify(b.snapshot()));
    const copy = new Banks();
    copy.restore(wire);
    expect(copy.list()).toEqual(b.list());
    expect(copy.snapshot()).toEqual(b.snapshot());
    expect(copy.version).toBe(b.version);
    expect(copy.match('pdq', [hexToHash256(H2)]).map((m) => m.bank.id)).toEqual(['csam-ncmec']);
    expect(copy.match('blockhash', [hexToHash256(H3)]).map((m) => m.bank.mode)).toEqual(['shadow']);
    // Further changes keep working after a restore.
    copy.addBank(bank({ id: 'later' }));
    copy.addHashes('later', [H3]);
    expect(copy.match('pdq', [hexToHash256(H3)]).map((m) => m.bank.id)).toEqual(['later']);
  });

  it('a bad snapshot is refused with the path of the problem and changes nothing', () => {
    const b = new Banks();
    b.addBank(bank());
    b.addHashes('csam-ncmec', [H1]);
    const before = b.snapshot();
    const bad = { ...before, banks: [{ ...before.banks[0]!, hashes: [H1, 'nope'] }] };
    expect(() => b.restore(bad)).toThrow(/snapshot\.banks\[0\]\.hashes\[1\]/);
    const dup = { ...before, banks: [before.banks[0]!, before.banks[0]!] };
    expect(() => b.restore(dup)).toThrow(/appears twice/);
    expect(() => b.restore({ format: 'other' })).toThrow(BankError);
    expect(b.snapshot()).toEqual(before);
  });

  it('counts changes in version', () => {
    const b = new Banks();
    const v0 = b.version;
    b.addBank(bank());
    b.addHashes('csam-ncmec', [H1]);
    b.addHashes('csam-ncmec', [H1]); // no change
    expect(b.version).toBe(v0 + 2);
  });

  it('scales to many hashes across banks (bulk add, exact matches)', () => {
    const b = new Banks();
    b.addBank(bank({ id: 'a' }));
    b.addBank(bank({ id: 'b', mode: 'shadow' }));
    const hexes = Array.from({ length: 20000 }, (_, i) => hash256ToHex(new Uint32Array([i, i * 2654435761, i ^ 0x5bd1e995, 7, i * 31, 11, i, 13])));
    expect(b.addHashes('a', hexes.slice(0, 15000))).toBe(15000);
    expect(b.addHashes('b', hexes.slice(10000))).toBe(10000);
    const m = b.match('pdq', [hexToHash256(hexes[12345]!)]);
    expect(m.map((x) => [x.bank.id, x.distance])).toEqual([
      ['a', 0],
      ['b', 0],
    ]);
  });
});

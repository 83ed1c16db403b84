import { describe, expect, it } from 'vitest';
import { TermLists, VALIDATE_SLICE } from '../../../filters/keyword/term-lists.ts';
import { TermListError } from '../../../filters/keyword/terms.ts';

describe('TermLists', () => {
  it('adds, replaces by canonical term, lists and removes', () => {
    const lists = new TermLists();
    expect(lists.add('global', [{ term: 'idiot' }, { term: 'Loser*', category: 'insult' }])).toEqual({ added: 2, updated: 0 });
    expect(lists.add('global', [{ term: 'IDIOT', action: 'hold' }])).toEqual({ added: 0, updated: 1 });
    expect(lists.list('global').map((t) => [t.term, t.action])).toEqual([
      ['idiot', 'hold'],
      ['loser*', 'block'],
    ]);
    expect(lists.remove('global', ['LOSER*', 'not-there'])).toBe(1);
    expect(lists.list('global').map((t) => t.term)).toEqual(['idiot']);
    expect(lists.remove('global', ['idiot'])).toBe(1);
    expect(lists.scopes()).toEqual([]);
  });

  it('keeps rooms apart and refuses bad scopes', () => {
    const lists = new TermLists();
    lists.add('room:a', [{ term: 'spoiler*' }]);
    expect(lists.list('room:b')).toEqual([]);
    expect(lists.size('room:a')).toBe(1);
    expect(() => lists.add('rooms' as never, [{ term: 'x' }])).toThrow(TermListError);
    expect(() => lists.list('room:' as never)).toThrow(/scope/);
  });

  it('announces each changed scope, and not a no-op', () => {
    const lists = new TermLists();
    const seen: string[] = [];
    const off = lists.onChange((s) => seen.push(s));
    lists.add('global', [{ term: 'idiot' }]);
    lists.add('room:r', [{ term: 'spoiler*' }]);
    lists.remove('room:r', ['nothing']);
    lists.add('global', []);
    off();
    lists.add('global', [{ term: 'loser' }]);
    expect(seen).toEqual(['global', 'room:r']);
  });

  it('snapshot is JSON and restore reproduces it, announcing only what changed', () => {
    const a = new TermLists();
    a.add('global', [{ term: 'idiot', category: 'insult', severity: 'high' }, { term: 'assassin*', action: 'allow' }]);
    a.add('room:r1', [{ term: 'spoiler*', action: 'mask' }]);
    const json = JSON.parse(JSON.stringify(a.snapshot()));
    const b = new TermLists();
    b.add('room:old', [{ term: 'gone' }]);
    b.add('room:r1', [{ term: 'spoiler*', action: 'mask' }]);
    const seen: string[] = [];
    b.onChange((s) => seen.push(s));
    b.restore(json);
    expect(b.snapshot()).toEqual(a.snapshot());
    expect(seen.sort()).toEqual(['global', 'room:old']);
  });

  it('restore validates everything first and names paths; nothing changes on error', () => {
    const lists = new TermLists();
    lists.add('global', [{ term: 'idiot' }]);
    expect(() => lists.restore({ version: 2, lists: {} })).toThrow(TermListError);
    try {
      lists.restore({ version: 1, lists: { global: [{ term: 'ok' }], 'room:x': [{ term: '*' }], nope: [] } });
      expect.unreachable();
    } catch (err) {
      expect((err as TermListError).issues).toEqual(['lists["nope"]: not a scope ("global" or "room:<id>")']);
    }
    try {
      lists.restore({ version: 1, lists: { global: [{ term: 'ok' }], 'room:x': [{ term: '*' }] } });
      expect.unreachable();
    } catch (err) {
      expect((err as TermListError).issues).toEqual(['lists["room:x"].terms[0].term: needs at least two letters or digits']);
    }
    expect(lists.list('global').map((t) => t.term)).toEqual(['idiot']);
  });

  it('addMany and restoreAsync validate big lists in slices, then apply at once', async () => {
    const lists = new TermLists();
    const many = Array.from({ length: VALIDATE_SLICE * 2 + 5 }, (_, i) => ({ term: `term${i}x` }));
    const seen: string[] = [];
    lists.onChange((s) => seen.push(s));
    let turns = 0;
    const pending = lists.addMany('global', many);
    const count = () => setImmediate(() => ++turns < 10 && count());
    count();
    expect(lists.size('global')).toBe(0); // nothing applied before validation is done
    expect(await pending).toEqual({ added: many.length, updated: 0 });
    expect(turns).toBeGreaterThan(0); // the loop ran other work in between
    expect(seen).toEqual(['global']);
    expect(lists.size('global')).toBe(many.length);
    const bad = [...many, { term: '*' }];
    await expect(lists.addMany('room:r', bad)).rejects.toThrow(`terms[${many.length}].term`);
    expect(lists.size('room:r')).toBe(0);
    const copy = new TermLists();
    await copy.restoreAsync(lists.snapshot());
    expect(copy.size('global')).toBe(many.length);
  });
});

/**
 * The moderation pipeline as configured: which filters run, in what order, with what timeout,
 * failure direction and shadow mode (`pipeline.filters` in the config file).
 */
import type { FilterSettings } from './config.ts';
import { ConfigError } from './config.ts';
import type { Filter } from '../filters/pipeline.ts';

/** A filter with some of its settings replaced; `check` is the original's. */
function withSettings(f: Filter, s: FilterSettings): Filter {
  if (s.timeoutMs === undefined && s.onFailure === undefined && s.shadow === undefined) return f;
  return {
    name: f.name,
    kinds: f.kinds,
    timeoutMs: s.timeoutMs ?? f.timeoutMs,
    onFailure: s.onFailure ?? f.onFailure,
    shadow: s.shadow ?? f.shadow ?? false,
    ...(f.neverSkip ? { neverSkip: true } : {}),
    check: (msg, ctx) => f.check(msg, ctx),
  };
}

/**
 * Order `available` filters as `settings` says (names must exist; images must fail closed). With no
 * settings, `available` in its own order.
 */
export function configurePipeline(available: readonly Filter[], settings: readonly FilterSettings[] | undefined): Filter[] {
  if (!settings) return [...available];
  const byName = new Map(available.map((f) => [f.name, f]));
  const seen = new Set<string>();
  const out: Filter[] = [];
  settings.forEach((s, i) => {
    const f = byName.get(s.name);
    if (!f) throw new ConfigError(`pipeline.filters[${i}].name: no filter named ${JSON.stringify(s.name)} (known: ${[...byName.keys()].join(', ')})`);
    if (seen.has(s.name)) throw new ConfigError(`pipeline.filters[${i}].name: ${s.name} is listed twice`);
    seen.add(s.name);
    if (s.enabled === false) return;
    const configured = withSettings(f, s);
    // An image-matching filter must fail closed; one that also reads text (spam) may pass on failure.
    if (s.onFailure === 'pass' && configured.kinds.length === 1 && configured.kinds[0] === 'image' && !configured.shadow) {
      throw new ConfigError(`pipeline.filters[${i}].onFailure: ${s.name} checks images, which fail closed: use hold or drop`);
    }
    out.push(configured);
  });
  return out;
}

/** The same filter marked neverSkip: a cheap in-process check that runs on every message. */
export function alwaysRuns(f: Filter): Filter {
  return { name: f.name, kinds: f.kinds, timeoutMs: f.timeoutMs, onFailure: f.onFailure, ...(f.shadow ? { shadow: true } : {}), neverSkip: true, check: (msg, ctx) => f.check(msg, ctx) };
}

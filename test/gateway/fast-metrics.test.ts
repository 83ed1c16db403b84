import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { FastCounter, FastHistogram } from '../../gateway/fast-metrics.ts';

describe('fast metrics', () => {
  it('expose counters and cumulative histograms in the Prometheus text format', async () => {
    const r = new Registry();
    const c = new FastCounter('t_total', 'help c', ['event', 'code'], r);
    const h = new FastHistogram('t_seconds', 'help h', ['stage'], [0.001, 0.01], r);
    c.add('send', 'ok');
    c.add('send', 'ok');
    c.child('send', 'invalid').inc(3);
    c.inc({ event: 'join', code: 'ok' });
    h.observe1('pipe', 0.0005);
    h.observe1('pipe', 0.005);
    h.child('pipe').observe(5);
    const text = await r.metrics();
    expect(text).toContain('# TYPE t_total counter');
    expect(text).toContain('t_total{event="send",code="ok"} 2');
    expect(text).toContain('t_total{event="send",code="invalid"} 3');
    expect(text).toContain('t_total{event="join",code="ok"} 1');
    expect(text).toContain('# TYPE t_seconds histogram');
    expect(text).toContain('t_seconds_bucket{stage="pipe",le="0.001"} 1');
    expect(text).toContain('t_seconds_bucket{stage="pipe",le="0.01"} 2');
    expect(text).toContain('t_seconds_bucket{stage="pipe",le="+Inf"} 3');
    expect(text).toContain('t_seconds_count{stage="pipe"} 3');
    expect(text).toMatch(/t_seconds_sum\{stage="pipe"\} 5\.0055/);
  });
});

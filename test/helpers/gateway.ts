/**
 * Real gateways on port 0 and real clients (socket.io-client, ws) for integration tests.
 */
import { io as ioc, type Socket as ClientSocket } from 'socket.io-client';
import WebSocket from 'ws';
import { Writable } from 'node:stream';
import { loadConfig, type ConfigInput } from '../../gateway/config.ts';
import { mintToken, type MintOptions } from '../../gateway/auth.ts';
import { DEFAULT_FILTERS, startGateway, type Gateway, type GatewayOptions } from '../../gateway/server.ts';
import { createLogger } from '../../gateway/logger.ts';

export const SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** Log lines a gateway wrote, parsed back into objects. */
export interface LogSink {
  lines: Record<string, unknown>[];
  raw: string[];
}

/**
 * A gateway for a test. Unless `options.filters` or `fullPipeline` says otherwise it runs the
 * minimal pipeline (visible-text): tests of rooms, sanctions and transports send bursts that the
 * spam filter would rightly refuse. test/gateway/detectors.test.ts runs the full pipeline.
 */
export async function gateway(overrides: ConfigInput = {}, options: GatewayOptions & { fullPipeline?: boolean } = {}): Promise<Gateway & { logs: LogSink }> {
  const config = loadConfig({}, { port: 0, host: '127.0.0.1', jwtSecret: SECRET, logLevel: 'debug', ...overrides });
  const logs: LogSink = { lines: [], raw: [] };
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) {
        if (!line) continue;
        logs.raw.push(line);
        try {
          logs.lines.push(JSON.parse(line));
        } catch {
          // not JSON: kept in raw
        }
      }
      cb();
    },
  });
  const { fullPipeline, ...rest } = options;
  const gw = await startGateway(config, { logger: createLogger(config.logLevel, sink), ...(fullPipeline ? {} : { filters: DEFAULT_FILTERS }), ...rest });
  return Object.assign(gw, { logs });
}

export function token(sub: string, o: Partial<MintOptions> = {}, secret = SECRET): Promise<string> {
  return mintToken(secret, { sub, ...o });
}

// ---- socket.io client ----

export async function sio(port: number, tok: string | undefined, opts: { transports?: ('websocket' | 'polling')[]; namespace?: string } = {}): Promise<ClientSocket> {
  const s = ioc(`http://127.0.0.1:${port}${opts.namespace ?? ''}`, {
    auth: tok === undefined ? {} : { token: tok },
    transports: opts.transports ?? ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('connect_error', (e) => reject(e));
  });
  return s;
}

export function sioConnectError(port: number, tok: string | undefined): Promise<{ message: string; data?: { code?: string } }> {
  const s = ioc(`http://127.0.0.1:${port}`, { auth: tok === undefined ? {} : { token: tok }, transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    s.once('connect', () => {
      s.close();
      reject(new Error('connected, but a refusal was expected'));
    });
    s.once('connect_error', (e) => {
      s.close();
      resolve(e as unknown as { message: string; data?: { code?: string } });
    });
  });
}

export function sioRequest<T = any>(s: ClientSocket, event: string, data: unknown, timeoutMs = 10_000): Promise<T> {
  return s.timeout(timeoutMs).emitWithAck(event, data) as Promise<T>;
}

// ---- raw WebSocket client ----

export class RawClient {
  private nextAck = 1;
  private readonly pending = new Map<number, (d: any) => void>();
  readonly events: { event: string; data: any }[] = [];
  private readonly waiters: { match: (e: { event: string; data: any }) => boolean; resolve: (e: any) => void }[] = [];
  closeCode: number | undefined;
  readonly closed: Promise<number>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (buf) => {
      const f = JSON.parse(String(buf));
      if (typeof f.ack === 'number' && !('event' in f)) {
        this.pending.get(f.ack)?.(f.data);
        this.pending.delete(f.ack);
        return;
      }
      this.events.push(f);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const w = this.waiters[i]!;
        if (w.match(f)) {
          this.waiters.splice(i, 1);
          w.resolve(f);
        }
      }
    });
    this.closed = new Promise((r) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        r(code);
      }),
    );
  }

  request<T = any>(event: string, data: unknown, timeoutMs = 10_000): Promise<T> {
    const ack = this.nextAck++;
    this.ws.send(JSON.stringify({ event, data, ack }));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no reply to ${event} (ack ${ack}; socket state ${this.ws.readyState}, close code ${this.closeCode})`)), timeoutMs);
      this.pending.set(ack, (d) => {
        clearTimeout(t);
        resolve(d);
      });
    });
  }

  send(frame: string | object): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  next(event: string, pred: (data: any) => boolean = () => true, timeoutMs = 10_000): Promise<any> {
    const found = this.events.find((e) => e.event === event && pred(e.data));
    if (found) {
      this.events.splice(this.events.indexOf(found), 1);
      return Promise.resolve(found.data);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${event} event within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        match: (e) => e.event === event && pred(e.data),
        resolve: (e) => {
          clearTimeout(t);
          this.events.splice(this.events.indexOf(e), 1);
          resolve(e.data);
        },
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}

export async function raw(port: number, tok: string | undefined, opts: { header?: boolean; path?: string } = {}): Promise<RawClient> {
  const q = tok && !opts.header ? `?token=${encodeURIComponent(tok)}` : '';
  const ws = new WebSocket(`ws://127.0.0.1:${port}${opts.path ?? '/ws'}${q}`, opts.header && tok ? { headers: { Authorization: `Bearer ${tok}` } } : {});
  const client = new RawClient(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
  });
  return client;
}

/** Try a raw handshake expected to be refused: returns the HTTP status and JSON body. */
export function rawRefusal(port: number, query: string, headers: Record<string, string> = {}, path = '/ws'): Promise<{ status: number; body: any }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}${query}`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.close();
      reject(new Error('upgraded, but a refusal was expected'));
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
    });
    ws.once('error', () => {});
  });
}

/** Collect the `message` events a socket.io client receives. */
export function collect(s: ClientSocket, event = 'message'): any[] {
  const got: any[] = [];
  s.on(event, (m: any) => got.push(m));
  return got;
}

export async function until(pred: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

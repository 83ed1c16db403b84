/**
 * What a stream kill reaches besides the gateway's own state: each node's confirmation that it told
 * its viewers (collected over the bus), and the media server, told to drop the publisher.
 */
import type { Config } from './config.ts';
import type { StreamDoc } from './streams.ts';

/** One node's confirmation that it applied a kill: viewers told, streamer's sessions told. */
export interface KillAck {
  streamId: string;
  node: string;
  /** Members of the room on that node when it delivered `stream:ended`. */
  viewers: number;
  at: string;
}

export type DropResult = { status: 'skipped'; reason: string } | { status: 'ok' | 'error'; httpStatus?: number; error?: string; at: string };

/** Call the configured media server to drop the publisher (e.g. MediaMTX kick, nginx-rtmp drop). */
export async function dropPublisher(config: Pick<Config, 'mediaServer'>, doc: StreamDoc): Promise<DropResult> {
  const m = config.mediaServer;
  if (!m.dropUrl) return { status: 'skipped', reason: 'no mediaServer.dropUrl configured' };
  const url = m.dropUrl.replaceAll('{streamId}', encodeURIComponent(doc.streamId)).replaceAll('{room}', encodeURIComponent(doc.room));
  try {
    const r = await fetch(url, { method: m.method, signal: AbortSignal.timeout(m.timeoutMs) });
    return { status: r.ok ? 'ok' : 'error', httpStatus: r.status, at: new Date().toISOString() };
  } catch (e) {
    return { status: 'error', error: (e as Error).message, at: new Date().toISOString() };
  }
}

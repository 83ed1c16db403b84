// @ts-check
/**
 * Chat fan-out over the raw WebSocket door `/ws` (JSON frames `{"event","data","ack"}`).
 *
 *   k6 run -e URL=ws://host:8080 -e SECRET=<MODGATE_JWT_SECRET> -e RATE=50 -e DURATION=2m loadtest/chat-ws.k6.js
 *
 * Receivers join ROOMS rooms and time every message from the intended send time stamped in its
 * text (modgate_delivery_ms: moderation + fan-out, open loop); senders arrive at a constant rate
 * (constant-arrival-rate), each a new user sending a few messages on a fixed schedule
 * (modgate_ack_ms). See loadtest/README.md for every variable, metric and threshold, and
 * loadtest/k6/chat.js for the model.
 */
import { makeChat, textPayload } from './k6/chat.js';
import { newRun } from './k6/lib.js';

const chat = makeChat({
  kind: 'raw',
  defaultRate: 20,
  defaultReceivers: 100,
  ackMetric: 'modgate_ack_ms',
  defaultAckP95: 20,
  defaultAckP99: 50,
  payload: textPayload,
});

export const options = chat.options;

export function setup() {
  return newRun();
}

/** @param {import('./k6/lib.js').RunData} data */
export function receiver(data) {
  chat.receiver(data);
}

/** @param {import('./k6/lib.js').RunData} data */
export function sender(data) {
  chat.sender(data);
}

// @ts-check
/**
 * Image messages at a constant arrival rate over the raw door `/ws` (or socket.io with
 * -e DOOR=socketio): each message:send carries a small JPEG as base64 in `data.image` (4 KB,
 * loadtest/k6/image.js) and a stamped text, so the image moderation path (decode, perceptual
 * hash, bank lookup) runs for every message.
 *
 *   k6 run -e URL=ws://host:8080 -e SECRET=<MODGATE_JWT_SECRET> -e RATE=10 -e DURATION=2m loadtest/image-messages.k6.js
 *
 * modgate_image_ack_ms: intended send → reply (the image pipeline, open loop); receivers (few by
 * default) also time delivery (modgate_delivery_ms). The same sender/receiver model as the chat
 * scripts (loadtest/k6/chat.js); see loadtest/README.md.
 */
import { makeChat } from './k6/chat.js';
import { SAMPLE_JPEG_BASE64 } from './k6/image.js';
import { envNumber, newRun, stampedText } from './k6/lib.js';
import { kindFromEnv } from './k6/session.js';

const door = kindFromEnv('raw');

const chat = makeChat({
  kind: door,
  defaultRate: 5,
  defaultReceivers: 10,
  ackMetric: 'modgate_image_ack_ms',
  // The gateway's image budget is 150 ms per message by default (pipeline.budgetMs.image); a
  // 240×160 JPEG decodes and hashes in a few ms.
  defaultAckP95: 100,
  defaultAckP99: 150,
  payload: (run, intendedMs) => ({
    text: stampedText(run.runId, intendedMs, envNumber('TEXT_WORDS', 4)),
    image: SAMPLE_JPEG_BASE64,
  }),
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

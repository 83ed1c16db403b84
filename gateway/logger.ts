/**
 * pino, structured and scoped: one root logger per gateway, child loggers per connection carrying
 * { conn, user, door }. Tokens and message bodies are never logged: callers log ids and categories,
 * and redaction catches the field names that could carry either if someone slips.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'token',
  '*.token',
  'auth',
  '*.auth',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'text',
  '*.text',
  'image',
  '*.image',
  'jwtSecret',
  '*.jwtSecret',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { svc: 'modgate' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}

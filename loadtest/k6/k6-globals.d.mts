/**
 * Globals k6 provides that @types/k6 does not declare (and lib es2020 has no console). A `.d.mts`
 * so that the repository's own tsconfig (`loadtest/**\/*.ts`, Node types) never picks it up.
 */
export {};

declare global {
  /** k6's console: writes to k6's log output (level by method). */
  var console: {
    log(...args: unknown[]): void;
    info(...args: unknown[]): void;
    warn(...args: unknown[]): void;
    error(...args: unknown[]): void;
    debug(...args: unknown[]): void;
  };
}

#!/usr/bin/env node
// The `modgate` command. The gateway is TypeScript run through tsx's loader (no build step, no
// build output to keep in sync).
import { register } from 'tsx/esm/api';

register();
await import('../gateway/cli.ts');

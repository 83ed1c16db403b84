/**
 * `modgate` command line: `serve` (default) runs the gateway; `token` mints a token with the
 * configured key.
 */
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError, type Config } from './config.ts';
import { mintToken } from './auth.ts';
import { ROLES, type Role } from './protocol.ts';
import { startGateway } from './server.ts';

const USAGE = `usage:
  modgate [serve]                      run the gateway (configuration from the environment)
  modgate token --sub ID [--name NAME] [--roles user,moderator,admin] [--owns room1,room2]
                [--device ID] [--ttl SECONDS]
                                       mint a token signed with MODGATE_JWT_SECRET
  modgate policy check FILE            validate a policy file (exit 0 ok, 1 invalid)
  modgate audit verify [--redis URL]   verify the audit log's hash chains (exit 0 ok, 1 broken)
  modgate help`;

function die(message: string, code = 2): never {
  process.stderr.write(`modgate: ${message}\n`);
  process.exit(code);
}

function list(v: string | undefined): string[] {
  return v ? v.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

async function token(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sub: { type: 'string' },
      name: { type: 'string' },
      roles: { type: 'string' },
      owns: { type: 'string' },
      device: { type: 'string' },
      ttl: { type: 'string' },
    },
    strict: true,
  });
  if (!values.sub) die('token: --sub is required');
  const secret = process.env.MODGATE_JWT_SECRET;
  if (!secret) die('token: MODGATE_JWT_SECRET is not set (tokens for the embedded default are printed by `npm start`)');
  const roles = list(values.roles);
  for (const r of roles) if (!(ROLES as readonly string[]).includes(r)) die(`token: unknown role ${r} (one of ${ROLES.join(', ')})`);
  const ttl = values.ttl ? Number(values.ttl) : undefined;
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0)) die('token: --ttl must be a positive number of seconds');
  const jwt = await mintToken(secret, {
    sub: values.sub,
    ...(values.name ? { name: values.name } : {}),
    roles: roles.length ? (roles as Role[]) : ['user'],
    owns: list(values.owns),
    ...(values.device ? { device: values.device } : {}),
    ...(ttl ? { ttlSec: ttl } : {}),
  });
  process.stdout.write(jwt + '\n');
}

const DEMO_ROOM = 'demo';

async function printEmbeddedWelcome(config: Config, port: number): Promise<void> {
  const secret = config.jwtSecret!;
  const [viewer, streamer, moderator] = await Promise.all([
    mintToken(secret, { sub: 'viewer', name: 'Viewer', roles: ['user'] }),
    mintToken(secret, { sub: 'streamer', name: 'Streamer', roles: ['user'], owns: [DEMO_ROOM] }),
    mintToken(secret, { sub: 'moderator', name: 'Moderator', roles: ['moderator'] }),
  ]);
  const http = `http://${config.host}:${port}`;
  const ws = `ws://${config.host}:${port}`;
  const out = `
modgate is running — embedded mode: in-memory state, a random signing key made for this run,
listening on ${config.host} only. Set MODGATE_JWT_SECRET (and REDIS_URL) for a real deployment.

  health   ${http}/healthz     metrics ${http}/metrics

Tokens (valid 24 h, signed with this run's key; restart = new key):
  viewer     sub=viewer                            ${viewer}
  streamer   sub=streamer, owns room "${DEMO_ROOM}"        ${streamer}
  moderator  sub=moderator, roles=moderator        ${moderator}

Try it (from this checkout, in another terminal):
  socket.io  node -e "const s=require('socket.io-client').io('${http}',{auth:{token:'${viewer}'}});s.on('message',m=>console.log('message',m));s.emit('room:join',{room:'${DEMO_ROOM}'},r=>{console.log(r);s.emit('message:send',{room:'${DEMO_ROOM}',text:'hello from socket.io'},console.log)})"
  raw ws     node -e "const w=new (require('ws'))('${ws}/ws?token=${streamer}');w.on('open',()=>{w.send(JSON.stringify({event:'room:join',data:{room:'${DEMO_ROOM}'},ack:1}));w.send(JSON.stringify({event:'message:send',data:{room:'${DEMO_ROOM}',text:'hello from raw ws'},ack:2}))});w.on('message',d=>console.log(String(d)))"
`;
  process.stdout.write(out);
}

async function serve(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) die(`configuration error: ${e.message}`);
    throw e;
  }
  const gw = await startGateway(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    gw.log.info({ signal }, 'signal received');
    const hard = setTimeout(() => {
      gw.log.error('graceful shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownGraceMs + 5000);
    hard.unref();
    gw.close().then(
      () => process.exit(0),
      (e: Error) => {
        gw.log.error({ err: e.message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGHUP', () => gw.reloadPolicy());
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Printed last: once the tokens show, the signal handlers are in place.
  if (config.embedded) await printEmbeddedWelcome(config, gw.port);
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const [cmd = 'serve', ...rest] = argv;
  switch (cmd) {
    case 'serve':
      return serve();
    case 'token':
      return token(rest);
    case 'policy': {
      if (rest[0] !== 'check') die(`usage: modgate policy check FILE`);
      const { policyCheckCommand } = await import('../rules/policy-check.ts');
      process.exitCode = await policyCheckCommand(rest);
      return;
    }
    case 'audit': {
      if (rest[0] !== 'verify') die(`usage: modgate audit verify [--redis URL]`);
      const { auditVerifyCommand } = await import('./audit-verify.ts');
      process.exitCode = await auditVerifyCommand(rest.slice(1));
      return;
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return;
    default:
      die(`unknown command ${cmd}\n${USAGE}`);
  }
}

main().catch((e: Error) => die(e.stack ?? e.message, 1));

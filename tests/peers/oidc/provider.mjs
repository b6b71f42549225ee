// OpenID provider peer for Nexora Gate integration tests.
//
// A real `oidc-provider` instance (client credentials grant, JWT access tokens
// via resource indicators) plus a small test-only control API under
// /__control/. See README.md in this folder for the contract with the tests.
//
// stdout carries exactly one line, `READY <port>`; everything else is written
// to stderr.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

// oidc-provider reports configuration notices through console.info, which
// writes to stdout. Route every console method to stderr *before* the library
// is loaded (hence the dynamic import below) so stdout stays machine-readable.
for (const method of ['log', 'info', 'debug', 'warn']) {
  console[method] = (...args) => console.error(...args);
}

// Installed before anything slow happens, so a signal during start-up also
// ends the process with status 0. main() replaces `onStop` once it listens.
let onStop = () => process.exit(0);
process.on('SIGTERM', () => onStop('SIGTERM'));
process.on('SIGINT', () => onStop('SIGINT'));

const { default: Provider, errors } = await import('oidc-provider');

// ---------------------------------------------------------------------------
// Static configuration

const HOST = '127.0.0.1';
const JWKS_PATH = '/jwks';
const TOKEN_PATH = '/token';
const DISCOVERY_PATH = '/.well-known/openid-configuration';
const CONTROL_PREFIX = '/__control/';

const DEFAULT_RESOURCE = 'https://api.example.test';
// Resource indicators a client may ask for; anything else is invalid_target.
const RESOURCES = new Set([DEFAULT_RESOURCE, 'https://other.example.test']);
const RESOURCE_SCOPE = 'read write admin';

const DEFAULT_TTL = 300;
const MAX_TTL = 3600;
const DEFAULT_ROLES = ['CUSTOMER'];

// Signing algorithm of each client's access tokens.
const CLIENTS = [
  { id: 'rs-client', secret: 'rs-secret', alg: 'RS256' },
  { id: 'es-client', secret: 'es-secret', alg: 'ES256' },
  // A client whose id (and so `sub`) reads like a gateway user id: an
  // external subject must never pass for the gateway's user of that number.
  { id: '1', secret: '1-secret', alg: 'RS256' },
];
const CLIENT_ALG = new Map(CLIENTS.map((c) => [c.id, c.alg]));

const COOKIE_KEY = crypto.randomBytes(32).toString('base64url');

// ---------------------------------------------------------------------------
// Command line

function parseArgs(argv) {
  const opts = { port: 0, exitOnStdinEof: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--port') {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 0 || value > 65535) {
        throw new Error(`--port needs an integer 0..65535, got ${argv[i]}`);
      }
      opts.port = value;
    } else if (arg === '--exit-on-stdin-eof') {
      opts.exitOnStdinEof = true;
    } else if (arg === '--help' || arg === '-h') {
      process.stderr.write('usage: node provider.mjs [--port N] [--exit-on-stdin-eof]\n');
      process.exit(0);
    } else {
      throw new Error(`unknown argument: ${arg}`);
    }
  }
  return opts;
}

// ---------------------------------------------------------------------------
// Keys

let generation = 0;

// One RSA-2048 (RS256) and one P-256 (ES256) private JWK. The kid carries the
// generation number (readable in test output) and random bytes (distinct
// across restarts, so a gateway cache can never confuse two runs).
function generateKeyGeneration() {
  generation += 1;
  const tag = `g${generation}-${crypto.randomBytes(4).toString('hex')}`;
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ format: 'jwk' });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ format: 'jwk' });
  return {
    RS256: { ...rsa, kid: `rs256-${tag}`, use: 'sig', alg: 'RS256' },
    ES256: { ...ec, kid: `es256-${tag}`, use: 'sig', alg: 'ES256' },
  };
}

const currentKids = (keys) => [keys.RS256.kid, keys.ES256.kid];

// ---------------------------------------------------------------------------
// Token request parameters that are ours, not OAuth's.
//
// oidc-provider strips parameters it does not know from ctx.oidc.params, but
// the token endpoint keeps the whole parsed form body in ctx.oidc.body, so the
// hooks below read `roles` and `ttl` from there.

function formValue(ctx, name) {
  const value = ctx?.oidc?.body?.[name];
  // A repeated form field arrives as an array; treat it as space separated.
  return Array.isArray(value) ? value.join(' ') : value;
}

function requestedTtl(ctx) {
  const raw = formValue(ctx, 'ttl');
  if (raw === undefined) return DEFAULT_TTL;
  const ttl = Number(raw);
  if (!/^\d+$/.test(String(raw).trim()) || ttl < 1 || ttl > MAX_TTL) {
    throw new errors.InvalidRequest(`ttl must be an integer number of seconds in 1..${MAX_TTL}`);
  }
  return ttl;
}

function requestedRoles(ctx) {
  const raw = formValue(ctx, 'roles');
  // Present but blank means "no roles", which tests may want on purpose.
  if (raw === undefined) return [...DEFAULT_ROLES];
  return String(raw).split(/\s+/).filter(Boolean);
}

// ---------------------------------------------------------------------------
// Provider construction. A Provider reads its keystore once, at construction,
// so a key rotation builds a new instance (same issuer, same static clients)
// and swaps it in; see rotate() below.

function buildProvider(issuer, signingKeys, jwks) {
  const provider = new Provider(issuer, {
    clients: CLIENTS.map((c) => ({
      client_id: c.id,
      client_secret: c.secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      // oidc-provider accepts client_secret_post as well for a client
      // registered with client_secret_basic (both are "secret" methods).
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: jwks },
    // Unused by the client credentials grant, but without cookie signing
    // keys the library warns on every start; a per-process random one will do.
    cookies: { keys: [COOKIE_KEY] },
    routes: { jwks: JWKS_PATH, token: TOKEN_PATH },
    features: {
      // No browser flows here; without this the library mounts its
      // development login pages and warns about them.
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Used when the token request has no `resource` parameter.
        defaultResource: async () => DEFAULT_RESOURCE,
        getResourceServerInfo: async (ctx, resourceIndicator, client) => {
          if (!RESOURCES.has(resourceIndicator)) {
            throw new errors.InvalidTarget(`unknown resource indicator ${resourceIndicator}`);
          }
          const alg = CLIENT_ALG.get(client.clientId) ?? 'RS256';
          return {
            scope: RESOURCE_SCOPE,
            audience: resourceIndicator,
            accessTokenFormat: 'jwt',
            accessTokenTTL: requestedTtl(ctx),
            // Pin the kid: the keystore also holds retired keys (so they stay
            // in the JWKS) and those must never sign new tokens.
            jwt: { sign: { alg, kid: signingKeys[alg].kid } },
          };
        },
      },
    },
    ttl: {
      // The resource server info already carries the per-request TTL.
      ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? DEFAULT_TTL,
    },
    async extraTokenClaims(ctx, token) {
      const roles = requestedRoles(ctx);
      // `sub` is not listed: for client credentials tokens oidc-provider sets
      // it to the client id itself, and extra claims never override it.
      return {
        preferred_username: token.clientId,
        realm_access: { roles },
        groups: [...roles],
      };
    },
  });

  provider.on('server_error', (ctx, err) => {
    process.stderr.write(`oidc peer: server_error on ${ctx.method} ${ctx.path}: ${err.stack || err}\n`);
  });
  return provider;
}

// ---------------------------------------------------------------------------
// Mutable state of the peer

const state = {
  issuer: undefined,
  provider: undefined,
  handle: undefined, // provider.callback() of the current instance
  signingKeys: undefined, // { RS256, ES256 } private JWKs that sign new tokens
  retiredKeys: [], // previous generations, newest first; published only
  counters: { jwks_hits: 0, discovery_hits: 0, token_hits: 0 },
  jwksDown: false,
  jwksDelayMs: 0,
};

function install(signingKeys, retiredKeys) {
  const jwks = [signingKeys.RS256, signingKeys.ES256];
  for (const old of retiredKeys) jwks.push(old.RS256, old.ES256);
  const provider = buildProvider(state.issuer, signingKeys, jwks);
  // Swap only after the new instance was built successfully.
  state.provider = provider;
  state.handle = provider.callback();
  state.signingKeys = signingKeys;
  state.retiredKeys = retiredKeys;
}

function rotate(retain) {
  const fresh = generateKeyGeneration();
  let retired = [state.signingKeys, ...state.retiredKeys];
  if (retain !== undefined) retired = retired.slice(0, retain);
  install(fresh, retired);
  const retiredKids = retired.flatMap(currentKids);
  process.stderr.write(`oidc peer: rotated; signing kids ${currentKids(fresh).join(', ')}; retired kids ${retiredKids.join(', ') || '(none)'}\n`);
  return { kids: currentKids(fresh), retired_kids: retiredKids };
}

// ---------------------------------------------------------------------------
// HTTP plumbing

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

async function readJsonBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  return text ? JSON.parse(text) : {};
}

function parseBool(value) {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return undefined;
}

function parseNonNegativeInt(value) {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : NaN;
}

async function handleControl(req, res, url) {
  const op = url.pathname.slice(CONTROL_PREFIX.length);
  let body = {};
  if (req.method === 'POST') {
    try {
      body = await readJsonBody(req);
    } catch (err) {
      return sendJson(res, 400, { error: `invalid JSON body: ${err.message}` });
    }
  }
  // Each setting may come from the query string or from the JSON body.
  const param = (name) => url.searchParams.get(name) ?? body[name];

  const route = `${req.method} ${op}`;
  switch (route) {
    case 'GET stats':
      return sendJson(res, 200, {
        ...state.counters,
        kids: currentKids(state.signingKeys),
        retired_kids: state.retiredKeys.flatMap(currentKids),
        jwks_down: state.jwksDown,
        jwks_delay_ms: state.jwksDelayMs,
      });
    case 'POST reset':
      for (const key of Object.keys(state.counters)) state.counters[key] = 0;
      return sendJson(res, 200, { ...state.counters });
    case 'POST rotate': {
      const retain = parseNonNegativeInt(param('retain'));
      if (Number.isNaN(retain)) return sendJson(res, 400, { error: 'retain must be a non-negative integer' });
      return sendJson(res, 200, rotate(retain));
    }
    case 'POST jwks-down': {
      const down = parseBool(param('down'));
      if (down === undefined) return sendJson(res, 400, { error: 'down must be true or false' });
      state.jwksDown = down;
      process.stderr.write(`oidc peer: jwks ${down ? 'DOWN (503)' : 'up'}\n`);
      return sendJson(res, 200, { down });
    }
    case 'POST jwks-delay': {
      const ms = parseNonNegativeInt(param('ms'));
      if (ms === undefined || Number.isNaN(ms) || ms > 60000) {
        return sendJson(res, 400, { error: 'ms must be an integer in 0..60000' });
      }
      state.jwksDelayMs = ms;
      process.stderr.write(`oidc peer: jwks delay ${ms} ms\n`);
      return sendJson(res, 200, { ms });
    }
    default:
      return sendJson(res, 404, { error: `no control operation ${route}` });
  }
}

async function handleRequest(req, res) {
  const url = new URL(req.url, state.issuer);

  if (url.pathname.startsWith(CONTROL_PREFIX)) {
    return handleControl(req, res, url);
  }

  if (url.pathname === DISCOVERY_PATH) state.counters.discovery_hits += 1;
  if (url.pathname === TOKEN_PATH) state.counters.token_hits += 1;
  if (url.pathname === JWKS_PATH) {
    state.counters.jwks_hits += 1;
    if (state.jwksDelayMs > 0) {
      await new Promise((resolve) => { setTimeout(resolve, state.jwksDelayMs); });
    }
    if (state.jwksDown) {
      return sendJson(res, 503, { error: 'temporarily_unavailable', error_description: 'JWKS switched off by /__control/jwks-down' });
    }
  }

  // The instance current now serves the whole request, even if a rotation
  // swaps instances meanwhile.
  return state.handle(req, res);
}

// ---------------------------------------------------------------------------
// Start

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`oidc peer: ${err.message}\n`);
    process.exit(2);
  }

  const server = http.createServer((req, res) => {
    handleRequest(req, res).catch((err) => {
      process.stderr.write(`oidc peer: request failed: ${err.stack || err}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: 'peer_error' });
      else res.destroy();
    });
  });

  const shutdown = (reason) => {
    process.stderr.write(`oidc peer: ${reason}, exiting\n`);
    // Do not wait for keep-alive connections to drain; tests want a prompt exit.
    server.close();
    process.exit(0);
  };
  onStop = shutdown;

  server.on('error', (err) => {
    process.stderr.write(`oidc peer: cannot listen: ${err.message}\n`);
    process.exit(1);
  });

  server.listen(opts.port, HOST, () => {
    const { port } = server.address();
    state.issuer = `http://${HOST}:${port}`;
    install(generateKeyGeneration(), []);
    process.stderr.write(`oidc peer: issuer ${state.issuer}, signing kids ${currentKids(state.signingKeys).join(', ')}\n`);
    process.stdout.write(`READY ${port}\n`);
  });

  if (opts.exitOnStdinEof) {
    // Lets a test harness that holds our stdin open get rid of us even if it
    // dies without sending a signal.
    process.stdin.on('end', () => shutdown('stdin EOF'));
    process.stdin.on('error', () => shutdown('stdin error'));
    process.stdin.resume();
  }
}

main();

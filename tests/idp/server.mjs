// A real OpenID Provider (oidc-provider) for tower-mfa's integration tests.
//
// Loopback only. Listens on 127.0.0.1 with an OS-chosen port, then prints exactly one line to
// stdout: {"ready":true,"issuer":"http://127.0.0.1:PORT"}. Everything else goes to stderr.
// Exits when its stdin closes (so it dies with the test process that spawned it) and on
// SIGTERM / SIGINT.
//
// What it offers (see tests/support/idp.rs for the client side):
// - JWT access tokens (RS256, header typ "at+jwt") for the API audience api://tower-mfa-tests,
//   scope customers.read.
// - client credentials: client_id "app-client", secret "app-secret" (client_secret_basic or
//   client_secret_post). Token: scope, sub == client_id, no amr.
// - authorization code + PKCE (S256) for the public client "web-client", redirect_uri
//   http://127.0.0.1/cb (never contacted: the test reads `code` from the Location header).
//   Login is headless: login_hint "alice" -> amr ["pwd"], "alice:mfa" -> amr ["pwd","mfa"]
//   (any "name" or "name:mfa" works; accountId = name). Consent is granted in code.
//   amr, acr and auth_time are copied into access tokens; refresh tokens are always issued and
//   a refreshed access token keeps them.
// - authorization code + PKCE for the confidential client "browser-demo" (secret
//   "browser-demo-secret", client_secret_basic), redirect_uri http://127.0.0.1:ANY_PORT/callback:
//   the browser demo. prompt=login with login_hint "alice:mfa" is its MFA step-up.
// - authorization code + PKCE for the confidential client "partner-dashboard" (secret
//   "partner-dashboard-secret", client_secret_basic), redirect_uri
//   http://127.0.0.1:ANY_PORT/callback: examples/partner_dashboard.rs. Its sign-in is made of real
//   HTML pages (see interaction.mjs): a password form, MFA registration (a TOTP secret as text and
//   QR code, confirmed with a code) and an MFA prompt. Users: jane (MFA registered, secret
//   JANE_TOTP_SECRET) and john (no MFA until he registers). MFA is asked when acr_values holds
//   urn:tower-mfa:acr:mfa or when the user has registered it; a step-up (prompt=login with
//   acr_values mfa) for the account of the current session asks for MFA only.
// - certificate-bound tokens (RFC 8705): client_credentials client "mtls-client" (secret
//   "mtls-secret", client_secret_basic) gets tokens with cnf.x5t#S256 of the certificate named in
//   the loopback-only header x-test-client-certificate (URL-encoded PEM), so the provider stays
//   on plain http; without the header it refuses to issue.
// - POST /test/rotate?keep_old=true|false: a new Provider with a freshly generated key (new
//   kid), keys [new, ...old] or [new], swapped in live. Replies {"kid":NEW,"kids":[...]}.
// - discovery {issuer}/.well-known/openid-configuration, keys {issuer}/jwks.

import * as http from 'node:http';
import { randomBytes } from 'node:crypto';

// Anything that would print to stdout (console.log / console.info, e.g. oidc-provider's
// notices) goes to stderr instead: stdout carries only the ready line. Done before
// oidc-provider is loaded (dynamic import below), as it may print while loading.
console.log = console.error;
console.info = console.error;

const { default: Provider, errors } = await import('oidc-provider');
const { generateKeyPair, exportJWK, calculateJwkThumbprint } = await import('jose');
const { DASHBOARD_CLIENT_ID, isInteractive, showInteraction, submitInteraction } = await import('./interaction.mjs');

const API_AUDIENCE = 'api://tower-mfa-tests';
const API_SCOPE = 'customers.read';
const REDIRECT_URI = 'http://127.0.0.1/cb';
const BROWSER_DEMO_REDIRECT_URI = 'http://127.0.0.1/callback';

// Every lifetime set explicitly (seconds).
const TTL = {
  AccessToken: 600,
  AuthorizationCode: 60,
  BackchannelAuthenticationRequest: 600,
  ClientCredentials: 600,
  DeviceCode: 600,
  Grant: 3600,
  IdToken: 600,
  Interaction: 600,
  PreAuthorizedCode: 600,
  RefreshToken: 3600,
  Session: 3600,
};

function log(...args) {
  console.error('[test-idp]', ...args);
}

// --- storage shared by every Provider instance ------------------------------------------------
//
// oidc-provider's built-in memory adapter keeps one store per Provider instance, so a key
// rotation (a new Provider) would forget sessions, grants and refresh tokens. This adapter keeps
// one module-global store instead.
const store = new Map(); // key -> { payload, expiresAt (ms) | undefined }
const grantMembers = new Map(); // grantId -> Set of keys
const sessionUids = new Map(); // uid -> session id
const userCodes = new Map(); // userCode -> id

function getLive(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry.payload;
}

class SharedMemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
    store.set(key, { payload, expiresAt });
    if (this.model === 'Session' && payload.uid) sessionUids.set(payload.uid, id);
    if (payload.userCode) userCodes.set(payload.userCode, id);
    if (payload.grantId) {
      let members = grantMembers.get(payload.grantId);
      if (!members) {
        members = new Set();
        grantMembers.set(payload.grantId, members);
      }
      members.add(key);
    }
  }

  async find(id) {
    return getLive(this.key(id));
  }

  async findByUid(uid) {
    const id = sessionUids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = userCodes.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const payload = getLive(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const members = grantMembers.get(grantId);
    if (!members) return;
    for (const key of members) store.delete(key);
    grantMembers.delete(grantId);
  }
}

// --- keys ----------------------------------------------------------------------------------------

async function newSigningKey() {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  jwk.kid = await calculateJwkThumbprint(jwk);
  jwk.use = 'sig';
  jwk.alg = 'RS256';
  return jwk;
}

// Same cookie keys for every Provider, so cookies survive a rotation.
const cookieKeys = [randomBytes(32).toString('base64url')];

// --- provider ----------------------------------------------------------------------------------

function parseLoginHint(hint) {
  const raw = typeof hint === 'string' && hint.length > 0 ? hint : 'alice';
  const [accountId, ...flags] = raw.split(':');
  const mfa = flags.includes('mfa');
  return {
    accountId: accountId || 'alice',
    amr: mfa ? ['pwd', 'mfa'] : ['pwd'],
    acr: mfa ? 'urn:tower-mfa:acr:mfa' : 'urn:tower-mfa:acr:pwd',
  };
}

function buildProvider(issuer, keys) {
  const configuration = {
    adapter: SharedMemoryAdapter,
    jwks: { keys },
    cookies: { keys: cookieKeys },
    ttl: TTL,
    clients: [
      {
        client_id: 'app-client',
        client_secret: 'app-secret',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        client_id: 'web-client',
        application_type: 'web',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [REDIRECT_URI],
      },
      {
        // Certificate-bound tokens (tests/mtls.rs): the certificate comes from testCertificate.
        client_id: 'mtls-client',
        client_secret: 'mtls-secret',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        tls_client_certificate_bound_access_tokens: true,
      },
      {
        // The browser demo (examples/browser_demo.rs, tests/browser.rs): a confidential client
        // whose redirect URI is on loopback. As a native client, its loopback redirect URI
        // matches on any port (RFC 8252 §7.3), so the demo may bind 127.0.0.1:0.
        client_id: 'browser-demo',
        client_secret: 'browser-demo-secret',
        application_type: 'native',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [BROWSER_DEMO_REDIRECT_URI],
      },
      {
        // The partner dashboard (examples/partner_dashboard.rs, tests/dashboard.rs): like
        // browser-demo, but people sign in on real pages (interaction.mjs).
        client_id: DASHBOARD_CLIENT_ID,
        client_secret: 'partner-dashboard-secret',
        application_type: 'native',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [BROWSER_DEMO_REDIRECT_URI],
      },
    ],
    scopes: ['openid', 'offline_access', API_SCOPE],
    acrValues: ['urn:tower-mfa:acr:pwd', 'urn:tower-mfa:acr:mfa'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      mTLS: { enabled: true, certificateBoundAccessTokens: true, getCertificate: testCertificate },
      introspection: { enabled: false },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => API_AUDIENCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, resourceIndicator) => {
          if (resourceIndicator !== API_AUDIENCE) throw new errors.InvalidTarget();
          return {
            scope: API_SCOPE,
            audience: API_AUDIENCE,
            accessTokenTTL: TTL.AccessToken,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    interactions: {
      url: async (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    findAccount: async (ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub }),
    }),
    // amr / acr / auth_time are not access-token claims in oidc-provider: copy them from the
    // authorization code (code exchange) or the refresh token (refresh). Client-credentials
    // tokens have neither and stay app-only.
    extraTokenClaims: async (ctx, token) => {
      if (token.kind !== 'AccessToken') return undefined;
      const source = ctx?.oidc?.entities?.AuthorizationCode ?? ctx?.oidc?.entities?.RefreshToken;
      if (!source) return undefined;
      const claims = {};
      if (Array.isArray(source.amr)) claims.amr = source.amr;
      if (source.acr !== undefined) claims.acr = source.acr;
      if (source.authTime !== undefined) claims.auth_time = source.authTime;
      return claims;
    },
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
  };

  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (ctx, err) => log('server_error', err));
  provider.on('grant.error', (ctx, err) => log('grant.error', err?.message, err?.error_description ?? ''));
  provider.on('authorization.error', (ctx, err) => log('authorization.error', err?.message, err?.error_description ?? ''));
  return provider;
}

// The client certificate of a token request: in place of a TLS handshake, the URL-encoded PEM in
// a test header, honoured from loopback only.
function testCertificate(ctx) {
  if (!isLoopback(ctx.req.socket.remoteAddress)) return undefined;
  const value = ctx.get('x-test-client-certificate');
  if (!value) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

// --- headless interaction --------------------------------------------------------------------

async function finishInteraction(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params } = details;

  if (prompt.name === 'login') {
    const { accountId, amr, acr } = parseLoginHint(params.login_hint);
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId, amr, acr } },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  if (prompt.name === 'consent') {
    await grantConsent(provider, req, res, details);
    return;
  }

  throw new Error(`unexpected interaction prompt: ${prompt.name}`);
}

// Consent is granted in code, for every client.
async function grantConsent(provider, req, res, details) {
  const { prompt, params, session } = details;
  {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details ?? {};
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    );
  }
}

// --- server ------------------------------------------------------------------------------------

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

function isLoopback(address) {
  return (
    typeof address === 'string'
    && (address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.'))
  );
}

let issuer;
let keys;
let current; // { provider, handler }

function install(provider) {
  current = { provider, handler: provider.callback() };
}

async function rotate(keepOld) {
  const fresh = await newSigningKey();
  const nextKeys = keepOld ? [fresh, ...keys] : [fresh];
  const provider = buildProvider(issuer, nextKeys);
  keys = nextKeys;
  install(provider);
  log(`rotated keys: new kid ${fresh.kid}, keep_old=${keepOld}, kids ${keys.map((k) => k.kid).join(',')}`);
  return { kid: fresh.kid, kids: keys.map((k) => k.kid) };
}

async function route(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');

  if (url.pathname === '/test/rotate') {
    if (!isLoopback(req.socket.remoteAddress)) return sendJson(res, 403, { error: 'loopback only' });
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' });
    const keepOldParam = url.searchParams.get('keep_old') ?? 'true';
    if (keepOldParam !== 'true' && keepOldParam !== 'false') {
      return sendJson(res, 400, { error: 'keep_old must be true or false' });
    }
    req.resume();
    return sendJson(res, 200, await rotate(keepOldParam === 'true'));
  }

  // Snapshot: a request is served entirely by the provider that was current when it arrived.
  const { provider, handler } = current;

  const interaction = /^\/interaction\/([^/]+)(?:\/(password|mfa))?$/.exec(url.pathname);
  if (interaction) {
    const [, , step] = interaction;
    if (req.method === 'GET' && !step) {
      const details = await provider.interactionDetails(req, res);
      if (!isInteractive(details)) return finishInteraction(provider, req, res);
      if (details.prompt.name === 'consent') return grantConsent(provider, req, res, details);
      return showInteraction(provider, req, res, details);
    }
    if (req.method === 'POST' && step) {
      const details = await provider.interactionDetails(req, res);
      if (!isInteractive(details) || details.prompt.name !== 'login') {
        return sendJson(res, 400, { error: 'no sign-in in progress' });
      }
      return submitInteraction(provider, req, res, details, step);
    }
    return sendJson(res, 405, { error: 'method not allowed' });
  }

  return handler(req, res);
}

const server = http.createServer((req, res) => {
  route(req, res).catch((err) => {
    // oidc-provider's own errors (an expired or foreign interaction, ...) keep their 4xx status.
    const status = err?.statusCode ?? err?.status;
    if (err?.expose && Number.isInteger(status) && status >= 400 && status < 500) {
      log('request refused', req.method, req.url, err?.message);
      if (!res.headersSent) sendJson(res, status, { error: err.error ?? 'invalid_request', error_description: err.error_description });
      else res.destroy();
      return;
    }
    log('request failed', req.method, req.url, err);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error', message: String(err?.message ?? err) });
    else res.destroy();
  });
});

function shutdown(reason) {
  log(`exiting: ${reason}`);
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.stdin.on('end', () => shutdown('stdin closed'));
process.stdin.on('close', () => shutdown('stdin closed'));
process.stdin.on('error', () => shutdown('stdin error'));
process.stdin.resume();

await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', resolve);
});

const { port } = server.address();
issuer = `http://127.0.0.1:${port}`;
keys = [await newSigningKey()];
install(buildProvider(issuer, keys));

process.stdout.write(`${JSON.stringify({ ready: true, issuer })}\n`);
log(`ready at ${issuer}`);

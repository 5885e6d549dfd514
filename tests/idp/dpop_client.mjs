// A real DPoP client for tests/idp_dpop.rs: openid-client (by oidc-provider's author, on
// oauth4webapi) obtains DPoP-bound access tokens from the test provider (server.mjs) with client
// credentials and with authorization code + PKCE (headless login), then calls a resource server
// guarded by tower-mfa with proofs the library makes itself.
//
// Usage: node dpop_client.mjs '{"issuer":..., "url":..., "other_url":..., "nonce_url":...}'
//   url        a DPoP-required MFA route of the resource server (GET)
//   other_url  another route of the same server (proofs for it are sent to `url`)
//   nonce_url  the same route on a server with DPoP nonces on
// Prints one JSON document on stdout (see the end of this file); anything else goes to stderr.
//
// Every proof comes from the library's DPoP handle: the normal path through
// fetchProtectedResource; the hostile cases take a proof the library made (captured by a custom
// fetch that does not send it) and send it where it does not belong. The stale proof comes from a
// configuration with the library's clockSkew option, the proof without `ath` from its
// modifyAssertion hook. Loopback http is allowed with allowInsecureRequests.

import * as client from 'openid-client';

console.log = console.error;
console.info = console.error;

const REDIRECT_URI = 'http://127.0.0.1/cb';
const API_SCOPE = 'customers.read';
const MAX_REDIRECTS = 20;

const input = JSON.parse(process.argv[2] ?? '{}');
for (const name of ['issuer', 'url', 'other_url', 'nonce_url']) {
  if (typeof input[name] !== 'string') throw new Error(`missing input ${name}`);
}
const issuer = new URL(input.issuer);

// --- a fetch that records every response, or captures a request without sending it ------------

let capture = null; // when set: the next resource request is recorded here, not sent
const trace = [];

async function recordingFetch(url, init) {
  if (capture) {
    const headers = new Headers(init?.headers);
    capture.headers = { authorization: headers.get('authorization'), dpop: headers.get('dpop') };
    return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
  }
  const response = await fetch(url, init);
  trace.push({
    url: String(url),
    proof: new Headers(init?.headers).get('dpop'),
    status: response.status,
    www_authenticate: response.headers.get('www-authenticate'),
    dpop_nonce: response.headers.get('dpop-nonce'),
  });
  return response;
}

const options = { execute: [client.allowInsecureRequests], [client.customFetch]: recordingFetch };

function payload(jwt) {
  if (typeof jwt !== 'string') return null;
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

async function describe(response) {
  let body = '';
  try {
    body = await response.text();
  } catch {}
  return {
    status: response.status,
    www_authenticate: response.headers.get('www-authenticate'),
    dpop_nonce: response.headers.get('dpop-nonce'),
    body,
  };
}

// The library's own call: proof, `Authorization: DPoP`, nonce retry.
async function viaLibrary(config, token, url, method, handle) {
  const before = trace.length;
  let response;
  try {
    response = await client.fetchProtectedResource(config, token, new URL(url), method, undefined, undefined, { DPoP: handle });
  } catch (err) {
    response = err?.response ?? err?.cause?.response;
    if (!(response instanceof Response)) throw err;
  }
  const result = await describe(response);
  result.attempts = trace.slice(before).map((t) => ({
    status: t.status,
    www_authenticate: t.www_authenticate,
    dpop_nonce: t.dpop_nonce,
    proof_nonce: payload(t.proof)?.nonce ?? null,
  }));
  return result;
}

// The headers the library would send for METHOD URL, captured, not sent.
async function mint(config, token, handle, method, url) {
  capture = {};
  try {
    await client.fetchProtectedResource(config, token, new URL(url), method, undefined, undefined, { DPoP: handle });
    return capture.headers;
  } finally {
    capture = null;
  }
}

async function send(method, url, headers) {
  const clean = Object.fromEntries(Object.entries(headers).filter(([, v]) => typeof v === 'string'));
  const result = await describe(await fetch(url, { method, headers: clean, redirect: 'manual' }));
  result.proof_claims = payload(clean.dpop);
  result.proof_jwk = typeof clean.dpop === 'string'
    ? JSON.parse(Buffer.from(clean.dpop.split('.')[0], 'base64url').toString('utf8')).jwk
    : null;
  return result;
}

// --- grants -------------------------------------------------------------------------------------

async function keyPair() {
  return client.randomDPoPKeyPair('ES256', { extractable: true });
}

async function clientCredentials() {
  const config = await client.discovery(issuer, 'app-client', 'app-secret', client.ClientSecretBasic('app-secret'), options);
  const keys = await keyPair();
  const handle = client.getDPoPHandle(config, keys);
  const tokens = await client.clientCredentialsGrant(config, { scope: API_SCOPE }, { DPoP: handle });
  return { config, keys, handle, tokens };
}

// Headless authorization code + PKCE: the provider finishes the interaction in code
// (server.mjs); this follows its redirects with a small cookie jar up to the redirect URI.
async function authorizationCode(loginHint) {
  const config = await client.discovery(issuer, 'web-client', undefined, client.None(), options);
  const keys = await keyPair();
  const handle = client.getDPoPHandle(config, keys);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  let url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: `openid ${API_SCOPE}`,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    login_hint: loginHint,
  });
  const jar = new Map();
  for (let i = 0; i < MAX_REDIRECTS; i += 1) {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*expires=.*1970/i.test(a) || /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) {
      throw new Error(`login: ${url} answered ${response.status}: ${await response.text()}`);
    }
    const next = new URL(location, url);
    if (next.href.startsWith(`${REDIRECT_URI}?`)) {
      const tokens = await client.authorizationCodeGrant(config, next, { pkceCodeVerifier: verifier, expectedState: state }, undefined, { DPoP: handle });
      return { config, keys, handle, tokens };
    }
    url = next;
  }
  throw new Error(`login did not reach ${REDIRECT_URI}`);
}

// --- the cases ----------------------------------------------------------------------------------

async function cases(grant, clientId, clientAuth, clientMeta) {
  const { config, keys, handle, tokens } = grant;
  const token = tokens.access_token;
  const out = { token_type: tokens.token_type, access_token: token, dpop_jkt: await handle.calculateThumbprint() };

  out.valid = await viaLibrary(config, token, input.url, 'GET', handle);
  const once = await mint(config, token, handle, 'GET', input.url);
  out.replay_first = await send('GET', input.url, once);
  out.replay = await send('GET', input.url, once);
  out.other_method = await send('GET', input.url, await mint(config, token, handle, 'POST', input.url));
  out.other_url = await send('GET', input.url, await mint(config, token, handle, 'GET', input.other_url));
  const stranger = client.getDPoPHandle(config, await keyPair());
  out.other_key = await send('GET', input.url, await mint(config, token, stranger, 'GET', input.url));
  out.no_proof = await send('GET', input.url, { authorization: `DPoP ${token}` });
  out.bearer = await send('GET', input.url, { authorization: `Bearer ${token}` });
  // The library's clock-skew option: its proofs claim an `iat` an hour ago.
  const late = await client.discovery(issuer, clientId, { ...clientMeta, [client.clockSkew]: -3600 }, clientAuth, options);
  out.stale_iat = await send('GET', input.url, await mint(late, token, client.getDPoPHandle(late, keys), 'GET', input.url));
  // The library's modifyAssertion hook: the same proof without `ath`.
  const noAth = client.getDPoPHandle(config, keys, { [client.modifyAssertion]: (header, claims) => { delete claims.ath; } });
  out.missing_ath = await send('GET', input.url, await mint(config, token, noAth, 'GET', input.url));
  out.valid_again = await viaLibrary(config, token, input.url, 'GET', handle);
  return out;
}

const app = await clientCredentials();
const mfaUser = await authorizationCode('alice:mfa');
const pwdUser = await authorizationCode('alice');

const result = {
  client_credentials: await cases(app, 'app-client', client.ClientSecretBasic('app-secret'), { client_secret: 'app-secret' }),
  authorization_code: await cases(mfaUser, 'web-client', client.None(), {}),
};

// Binding is not authentication: a password-only user with a valid proof.
result.mfa_less = await viaLibrary(pwdUser.config, pwdUser.tokens.access_token, input.url, 'GET', pwdUser.handle);
result.mfa_less.access_token = pwdUser.tokens.access_token;

// Server nonces: the first call is answered use_dpop_nonce, the library retries with the nonce.
const nonceHandle = client.getDPoPHandle(app.config, app.keys);
result.nonce = await viaLibrary(app.config, app.tokens.access_token, input.nonce_url, 'GET', nonceHandle);
// The handle keeps the nonce: the next call needs no retry.
result.nonce_again = await viaLibrary(app.config, app.tokens.access_token, input.nonce_url, 'GET', nonceHandle);

// For the gRPC half (proofs made in Rust): bound tokens with the private keys they are bound to.
const exported = async (grant) => ({
  access_token: grant.tokens.access_token,
  jwk: await crypto.subtle.exportKey('jwk', grant.keys.privateKey),
});
result.grpc = { mfa: await exported(mfaUser), pwd: await exported(pwdUser) };

process.stdout.write(`${JSON.stringify(result)}\n`);

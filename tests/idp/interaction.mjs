// The sign-in pages people see for the "partner-dashboard" client (examples/partner_dashboard.rs):
// a password form, MFA registration with an authenticator app (TOTP) and an MFA prompt.
//
// - Users: jane (password "jane-password", MFA registered with JANE_TOTP_SECRET) and john
//   (password "john-password", no MFA until he registers it; registrations live as long as the
//   process).
// - MFA is asked when the authorization request's acr_values holds urn:tower-mfa:acr:mfa, or when
//   the user has registered it. A user without MFA registers first: a new secret, shown as text
//   and as a QR code (otpauth:// URI), confirmed with a code.
// - Codes: 6 digits, SHA-1, 30-second steps; the previous and the current step are accepted.
// - A step-up (acr_values mfa) for the account already signed in at this provider asks for MFA
//   only: the password was checked when the session started.
// - The result is amr ["pwd"] or ["pwd","mfa"] and the matching acr.
//
// Every page is plain HTML with inline CSS, Cache-Control: no-store, and a CSP that allows no
// script.

import { createHash, timingSafeEqual } from 'node:crypto';

import * as OTPAuth from 'otpauth';
import QRCode from 'qrcode';

/** The client whose users sign in on these pages. */
export const DASHBOARD_CLIENT_ID = 'partner-dashboard';
/** Jane's TOTP secret (base32, 20 bytes); tests/dashboard.rs has the same constant. */
export const JANE_TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

const ACR_MFA = 'urn:tower-mfa:acr:mfa';
const ACR_PWD = 'urn:tower-mfa:acr:pwd';
const ISSUER_LABEL = 'tower-mfa test IdP';
const MAX_BODY = 4096;
const MAX_PENDING = 1000;
const PENDING_TTL_MS = 10 * 60 * 1000;

const users = new Map([
  ['jane', { password: 'jane-password', name: 'Jane Doe', company: 'Contoso', totp: JANE_TOTP_SECRET }],
  ['john', { password: 'john-password', name: 'John Smith', company: 'Fabrikam', totp: null }],
]);

// Interaction uid -> { accountId, secret (base32), registering, at }: a password checked, MFA to go.
const pending = new Map();

function log(...args) {
  console.error('[test-idp]', ...args);
}

/** Whether this interaction belongs to the client with real pages. */
export function isInteractive(details) {
  return details?.params?.client_id === DASHBOARD_CLIENT_ID;
}

function wantsMfa(params) {
  return typeof params.acr_values === 'string' && params.acr_values.split(' ').includes(ACR_MFA);
}

function sameSecret(a, b) {
  const ha = createHash('sha256').update(String(a)).digest();
  const hb = createHash('sha256').update(String(b)).digest();
  return timingSafeEqual(ha, hb);
}

function totpFor(accountId, secret) {
  return new OTPAuth.TOTP({
    issuer: ISSUER_LABEL,
    label: accountId,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    secret: OTPAuth.Secret.fromBase32(secret),
  });
}

/** A code of the previous or the current 30-second step. */
function codeIsValid(accountId, secret, code) {
  if (typeof code !== 'string' || !/^[0-9]{6}$/.test(code)) return false;
  const delta = totpFor(accountId, secret).validate({ token: code, window: 1 });
  return delta === 0 || delta === -1;
}

function prune() {
  const now = Date.now();
  for (const [uid, p] of pending) if (now - p.at > PENDING_TTL_MS) pending.delete(uid);
  while (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value);
}

function startMfa(uid, accountId) {
  prune();
  const user = users.get(accountId);
  const registering = !user.totp;
  const secret = user.totp ?? new OTPAuth.Secret({ size: 20 }).base32;
  const state = { accountId, secret, registering, at: Date.now() };
  pending.set(uid, state);
  return state;
}

async function readForm(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw Object.assign(new Error('form too large'), { status: 413 });
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// --- pages -------------------------------------------------------------------------------------

function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;min-height:100vh;font:15px/1.45 "Segoe UI",system-ui,-apple-system,"Helvetica Neue",Arial,sans-serif;
  color:#1b1b1b;background:#eef1f5;display:flex;align-items:center;justify-content:center}
.card{width:440px;background:#fff;border-radius:6px;border:1px solid #dde3ea;padding:32px 40px 22px}
.card.wide{width:600px}
.brand{display:flex;align-items:center;gap:10px;font-weight:600;color:#404040;margin-bottom:22px}
.logo{display:grid;grid-template-columns:9px 9px;gap:2px}
.logo i{display:block;width:9px;height:9px}
.logo i:nth-child(1){background:#f25022}.logo i:nth-child(2){background:#7fba00}
.logo i:nth-child(3){background:#00a4ef}.logo i:nth-child(4){background:#ffb900}
h1{font-size:24px;font-weight:600;margin:0 0 6px}
p{margin:6px 0 14px;color:#333}
.who{display:inline-block;background:#f2f2f2;border-radius:12px;padding:2px 10px;font-size:13px;margin-bottom:8px}
label{display:block;font-size:13px;color:#555;margin:12px 0 4px}
input[type=text],input[type=password]{width:100%;padding:8px 2px;border:0;border-bottom:1px solid #8a8a8a;font-size:16px;outline:none}
input:focus{border-bottom:2px solid #0067b8}
input.code{letter-spacing:6px;font-size:22px;font-family:Consolas,"DejaVu Sans Mono",monospace;width:170px}
.actions{display:flex;justify-content:flex-end;margin-top:24px}
button{background:#0067b8;color:#fff;border:0;padding:8px 28px;font-size:15px;cursor:pointer;border-radius:2px}
button:hover{background:#005da6}
.error{color:#a4262c;background:#fde7e9;border-left:3px solid #a4262c;padding:6px 10px;font-size:14px}
ol{padding-left:20px;margin:8px 0}
ol li{margin:6px 0}
.setup{display:flex;gap:22px;align-items:flex-start;margin:12px 0 4px}
.qr svg{display:block;width:156px;height:156px;border:1px solid #ddd;padding:4px;background:#fff}
.setup ol{margin:0}
.app{font-size:13px;color:#555}
code.secret{display:inline-block;font:14px Consolas,"DejaVu Sans Mono",monospace;background:#f4f4f4;border:1px solid #ddd;padding:4px 6px;word-break:break-all}
.foot{margin-top:22px;font-size:12px;color:#767676;border-top:1px solid #eee;padding-top:10px}
`;

function send(res, status, title, body, wide = false) {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)}</title>
<style>${STYLE}</style></head><body><main class="card${wide ? ' wide' : ''}">
<div class="brand"><span class="logo"><i></i><i></i><i></i><i></i></span>${esc(ISSUER_LABEL)}</div>
${body}
<div class="foot">Test identity provider for tower-mfa. Not a real account system.</div>
</main></body></html>`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    'x-frame-options': 'DENY',
  });
  res.end(html);
}

function passwordPage(res, uid, { error, username } = {}) {
  send(res, error ? 401 : 200, 'Sign in', `
<h1 id="title">Sign in</h1>
<p>to continue to <b>Partner dashboard</b></p>
${error ? `<p class="error" id="error">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/password" autocomplete="off">
<label for="username">User name</label>
<input type="text" id="username" name="username" value="${esc(username ?? '')}" autofocus required>
<label for="password">Password</label>
<input type="password" id="password" name="password" required>
<div class="actions"><button type="submit" id="submit">Sign in</button></div>
</form>`);
}

async function mfaPage(res, uid, state, error) {
  const status = error ? 401 : 200;
  const errorLine = error ? `<p class="error" id="error">${esc(error)}</p>` : '';
  const form = (label) => `
<form method="post" action="/interaction/${esc(uid)}/mfa" autocomplete="off">
<label for="code">${label}</label>
<input type="text" class="code" id="code" name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autofocus required>
<div class="actions"><button type="submit" id="submit">Verify</button></div>
</form>`;
  const who = `<span class="who" id="account">${esc(state.accountId)}</span>`;
  if (state.registering) {
    const uri = totpFor(state.accountId, state.secret).toString();
    const svg = await QRCode.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    return send(res, status, 'Set up your authenticator app', `
<h1 id="title">Set up your authenticator app</h1>
${who}
<p>Partner dashboard requires multi-factor authentication. Register an authenticator app once; next time you will only be asked for a code.</p>
${errorLine}
<div class="setup">
<div class="qr" id="qr">${svg}</div>
<ol>
<li>In your authenticator app (Microsoft Authenticator, Google Authenticator, ...), add an account and scan the QR code.</li>
<li>Can't scan it? Enter this key:<br><code class="secret" id="secret">${esc(state.secret)}</code></li>
<li>Enter the 6-digit code the app shows.</li>
</ol>
</div>
${form('Code')}`, true);
  }
  return send(res, status, 'Enter code', `
<h1 id="title">Enter code</h1>
${who}
<p>Enter the code displayed in the authenticator app on your phone.</p>
${errorLine}
${form('Code')}`);
}

// --- handlers ----------------------------------------------------------------------------------

/** GET /interaction/:uid for a login prompt of the dashboard client. */
export async function showInteraction(provider, req, res, details) {
  const { uid, params, session } = details;
  const state = pending.get(uid);
  if (state) return mfaPage(res, uid, state);
  // Step-up for the account already signed in here: MFA only.
  if (wantsMfa(params) && session?.accountId && users.has(session.accountId)
      && (!params.login_hint || params.login_hint === session.accountId)) {
    return mfaPage(res, uid, startMfa(uid, session.accountId));
  }
  return passwordPage(res, uid, { username: typeof params.login_hint === 'string' ? params.login_hint : '' });
}

async function finishLogin(provider, req, res, accountId, mfa) {
  await provider.interactionFinished(
    req,
    res,
    {
      login: {
        accountId,
        amr: mfa ? ['pwd', 'mfa'] : ['pwd'],
        acr: mfa ? ACR_MFA : ACR_PWD,
      },
    },
    { mergeWithLastSubmission: false },
  );
}

/** POST /interaction/:uid/password or /interaction/:uid/mfa. */
export async function submitInteraction(provider, req, res, details, step) {
  const { uid, params } = details;
  let form;
  try {
    form = await readForm(req);
  } catch (err) {
    return send(res, err.status ?? 400, 'Sign in', '<p class="error">The form could not be read.</p>');
  }

  if (step === 'password') {
    const username = (form.get('username') ?? '').trim().toLowerCase();
    const password = form.get('password') ?? '';
    const user = users.get(username);
    // Compare against something even for an unknown user.
    const ok = sameSecret(password, user ? user.password : 'no such user') && user !== undefined;
    if (!ok) {
      log('sign-in refused');
      return passwordPage(res, uid, { error: 'Your user name or password is incorrect.', username });
    }
    pending.delete(uid);
    if (!wantsMfa(params) && !user.totp) return finishLogin(provider, req, res, username, false);
    res.statusCode = 303;
    startMfa(uid, username);
    res.setHeader('location', `/interaction/${encodeURIComponent(uid)}`);
    res.setHeader('cache-control', 'no-store');
    return res.end();
  }

  // step === 'mfa'
  const state = pending.get(uid);
  if (!state) return passwordPage(res, uid, { error: 'Sign in again.' });
  const code = (form.get('code') ?? '').trim();
  if (!codeIsValid(state.accountId, state.secret, code)) {
    log('MFA code refused');
    return mfaPage(res, uid, state, 'That code is not valid. Enter the current code from your app.');
  }
  pending.delete(uid);
  if (state.registering) {
    users.get(state.accountId).totp = state.secret;
    log(`MFA registered for ${state.accountId}`);
  }
  return finishLogin(provider, req, res, state.accountId, true);
}

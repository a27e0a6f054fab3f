// OpenID Connect operations the workloads are made of. Every operation
// checks its response enough to fail loudly on a wrong answer.

import crypto from 'node:crypto';

import { BenchError, FORM, basicAuth, expectJson, fillForm, fillLoginForm } from './http.mjs';
import { currentStep, totpCode } from './totp.mjs';

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const randomToken = () => b64url(crypto.randomBytes(32));

// Shared, read-only view of one target: endpoints, clients and the key set.
export class Target {
  constructor(spec) {
    this.issuer = spec.issuer.replace(/\/$/, '');
    this.origin = new URL(this.issuer).origin;
    this.clients = spec.clients;
    this.user = spec.user;
    this.totp = spec.totp || null; // login_totp: {users, state}
    this.argon2User = spec.argon2_user || null; // login_argon2: {username, password}
    this.scope = spec.scope || 'openid profile email offline_access';
    this.ccScope = spec.cc_scope || '';
    this.discoveryUrl = `${this.issuer}/.well-known/openid-configuration`;
    this.meta = null;
    this.keys = new Map(); // kid -> {key, alg}
  }

  path(url) {
    const u = new URL(url);
    if (u.origin !== this.origin) throw new BenchError(`endpoint ${url} is not on ${this.origin}`);
    return u.pathname + u.search;
  }

  async load(conn) {
    this.meta = expectJson(await conn.send('GET', this.path(this.discoveryUrl), {}), 'discovery');
    if (this.meta.issuer !== this.issuer) {
      throw new BenchError(`discovery issuer ${this.meta.issuer} != ${this.issuer}`);
    }
    await this.loadKeys(conn);
  }

  async loadKeys(conn) {
    const jwks = expectJson(await conn.send('GET', this.path(this.meta.jwks_uri), {}), 'jwks');
    this.keys.clear();
    for (const jwk of jwks.keys) {
      if (jwk.use && jwk.use !== 'sig') continue;
      this.keys.set(jwk.kid ?? '', { key: crypto.createPublicKey({ key: jwk, format: 'jwk' }), alg: jwk.alg });
    }
  }
}

const VERIFY = {
  RS256: ['sha256', {}],
  RS384: ['sha384', {}],
  RS512: ['sha512', {}],
  PS256: ['sha256', { padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }],
  ES256: ['sha256', { dsaEncoding: 'ieee-p1363' }],
  ES384: ['sha384', { dsaEncoding: 'ieee-p1363' }],
  EdDSA: [null, {}],
  Ed25519: [null, {}],
};

export async function verifyIdToken(target, conn, idToken, clientId, nonce) {
  const parts = String(idToken).split('.');
  if (parts.length !== 3) throw new BenchError('id_token is not a JWS');
  const header = JSON.parse(Buffer.from(parts[0], 'base64url'));
  const verify = VERIFY[header.alg];
  if (!verify) throw new BenchError(`unsupported id_token alg ${header.alg}`);
  let entry = target.keys.get(header.kid ?? '');
  if (!entry) {
    await target.loadKeys(conn); // key rotation: refresh the cache once
    entry = target.keys.get(header.kid ?? '');
    if (!entry) throw new BenchError(`id_token kid ${header.kid} not in JWKS`);
  }
  const ok = crypto.verify(
    verify[0],
    Buffer.from(`${parts[0]}.${parts[1]}`),
    { key: entry.key, ...verify[1] },
    Buffer.from(parts[2], 'base64url'),
  );
  if (!ok) throw new BenchError('id_token signature does not verify');
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.iss !== target.issuer) throw new BenchError(`id_token iss ${claims.iss}`);
  if (!aud.includes(clientId)) throw new BenchError(`id_token aud ${claims.aud}`);
  if (nonce !== undefined && claims.nonce !== nonce) throw new BenchError('id_token nonce mismatch');
  if (!(claims.exp * 1000 > Date.now())) throw new BenchError('id_token expired');
  return claims;
}

export async function clientCredentials(target, conn, client, expectJwt) {
  const body = target.ccScope
    ? `grant_type=client_credentials&scope=${encodeURIComponent(target.ccScope)}`
    : 'grant_type=client_credentials';
  const res = await conn.send('POST', target.path(target.meta.token_endpoint), {
    authorization: basicAuth(client.client_id, client.client_secret),
    'content-type': FORM,
  }, body);
  const json = expectJson(res, 'client_credentials');
  if (typeof json.access_token !== 'string') throw new BenchError('no access_token');
  const isJwt = json.access_token.split('.').length === 3;
  if (expectJwt !== undefined && isJwt !== expectJwt) {
    throw new BenchError(`access token is ${isJwt ? '' : 'not '}a JWT`);
  }
  return json.access_token;
}

export async function introspect(target, conn, client, token) {
  const res = await conn.send('POST', target.path(target.meta.introspection_endpoint), {
    authorization: basicAuth(client.client_id, client.client_secret),
    'content-type': FORM,
    accept: 'application/json',
  }, `token=${encodeURIComponent(token)}`);
  const json = expectJson(res, 'introspection');
  if (json.active !== true) throw new BenchError(`introspection says inactive: ${res.text.slice(0, 200)}`);
}

export async function refresh(target, conn, refreshToken) {
  const { web } = target.clients;
  const res = await conn.send('POST', target.path(target.meta.token_endpoint), {
    authorization: basicAuth(web.client_id, web.client_secret),
    'content-type': FORM,
  }, `grant_type=refresh_token&refresh_token=${encodeURIComponent(refreshToken)}`);
  const json = expectJson(res, 'refresh_token');
  if (typeof json.access_token !== 'string') throw new BenchError('refresh: no access_token');
  return json.refresh_token || refreshToken;
}

// Authorization code + PKCE with the web client. With an empty jar the user
// signs in through the HTML form; with a jar holding an SSO session the
// authorize request must come straight back with a code (expectSso).
// `factor`, when given, takes the page shown after the password and returns
// where the second-factor step led ({redirect} or {res}); `client` and
// `account` pick another client of the target and another user.
export async function login(target, browser, {
  expectSso = false, client = 'web', account = target.user, factor = null,
} = {}) {
  const web = target.clients[client];
  const verifier = randomToken();
  const state = randomToken();
  const nonce = randomToken();
  const authorize = new URL(target.meta.authorization_endpoint);
  const q = authorize.searchParams;
  q.set('response_type', 'code');
  q.set('client_id', web.client_id);
  q.set('redirect_uri', web.redirect_uri);
  q.set('scope', target.scope);
  q.set('state', state);
  q.set('nonce', nonce);
  q.set('code_challenge', b64url(crypto.createHash('sha256').update(verifier).digest()));
  q.set('code_challenge_method', 'S256');

  let step = await browser.follow(await browser.request('GET', authorize.href), web.redirect_uri);
  if (!step.redirect) {
    if (expectSso) {
      throw new BenchError(`SSO session not reused: HTTP ${step.res.status} at ${step.res.url}`);
    }
    if (step.res.status !== 200) {
      throw new BenchError(`login page: HTTP ${step.res.status} at ${step.res.url}: ${step.res.text.slice(0, 200)}`);
    }
    const form = fillLoginForm(step.res.text, step.res.url, account.username, account.password);
    const posted = form.method === 'POST'
      ? await browser.request('POST', form.action, { headers: { 'content-type': FORM }, body: form.body })
      : await browser.request('GET', `${form.action}${form.action.includes('?') ? '&' : '?'}${form.body}`);
    step = await browser.follow(posted, web.redirect_uri);
    if (!step.redirect && factor) {
      if (step.res.status !== 200) {
        throw new BenchError(`second factor: HTTP ${step.res.status} at ${step.res.url}`);
      }
      step = await factor(browser, step.res, web.redirect_uri);
    }
    if (!step.redirect) {
      const r = step.res;
      throw new BenchError(`after sign-in: HTTP ${r.status} at ${r.url}: ${r.text.replace(/\s+/g, ' ').slice(0, 300)}`);
    }
  }
  const back = new URL(step.redirect).searchParams;
  if (back.get('error')) throw new BenchError(`authorize error ${back.get('error')}: ${back.get('error_description')}`);
  if (back.get('state') !== state) throw new BenchError('state mismatch');
  if (back.has('iss') && back.get('iss') !== target.issuer) throw new BenchError('iss mismatch');
  const code = back.get('code');
  if (!code) throw new BenchError('no code in redirect');

  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: web.redirect_uri,
    code_verifier: verifier,
  }).toString();
  const res = await browser.conn.send('POST', target.path(target.meta.token_endpoint), {
    authorization: basicAuth(web.client_id, web.client_secret),
    'content-type': FORM,
  }, body);
  const tokens = expectJson(res, 'code exchange');
  tokens.claims = await verifyIdToken(target, browser.conn, tokens.id_token, web.client_id, nonce);
  return tokens;
}

// Submits the form of `page` that has `field`, and follows where it leads.
async function submit(browser, page, field, values, stopPrefix) {
  const form = fillForm(page.text, page.url, field, values);
  const posted = await browser.request('POST', form.action, {
    headers: { 'content-type': FORM }, body: form.body,
  });
  return browser.follow(posted, stopPrefix);
}

function expectPage(step, what) {
  if (step.redirect || step.res.status !== 200) {
    const where = step.redirect || `HTTP ${step.res.status} at ${step.res.url}`;
    throw new BenchError(`expected the ${what} page, got ${where}`);
  }
  return step.res;
}

// The first sign-in of a user who has no second factor yet: the wizard, with
// an authenticator app. Returns the app's secret and the step its code used.
export async function enrollTotp(target, browser, account) {
  let secret = null;
  let usedStep = null;
  await login(target, browser, {
    client: 'web_mfa',
    account,
    factor: async (b, choose, stop) => {
      const app = expectPage(await submit(b, choose, 'method', { method: 'totp', action: 'next' }, stop), 'authenticator app');
      const found = /<code class="secret" id="totp-secret">([^<]+)<\/code>/.exec(app.text);
      if (!found) throw new BenchError(`no secret on ${app.url}`);
      secret = found[1].replace(/\s+/g, '');
      usedStep = currentStep();
      const done = expectPage(await submit(b, app, 'code', { code: totpCode(secret, usedStep), action: 'next' }, stop), 'done');
      return submit(b, done, 'action', { action: 'next' }, stop);
    },
  });
  return { secret, last_step: usedStep };
}

// A sign-in with password and authenticator-app code; `step` is the time
// step whose code is typed. Checks that the ID token says so (amr otp).
export async function loginWithCode(target, browser, account, secret, step) {
  const tokens = await login(target, browser, {
    client: 'web_mfa',
    account,
    factor: (b, page, stop) => submit(b, page, 'code', { code: totpCode(secret, step), action: 'next' }, stop),
  });
  if (!(tokens.claims.amr || []).includes('otp')) {
    throw new BenchError(`amr ${JSON.stringify(tokens.claims.amr)} lacks otp`);
  }
  return tokens;
}

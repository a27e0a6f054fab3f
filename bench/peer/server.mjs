// Reference OpenID provider for the benchmark: panva/oidc-provider with the
// same clients and user as the Pocket IdP benchmark target.
//
// Usage: NODE_ENV=production node server.mjs SPEC.json
// SPEC.json: {"port", "issuer", "user": {"username", "password"},
//             "argon2_user": {"username", "password_hash"},
//             "clients": {"web": {...}, "service": {...}, "service_jwt": {...}}}
// "user"'s password is compared as a string; "argon2_user"'s is checked with one
// argon2id verify against password_hash (a PHC string), as our IdP checks every one.
// Prints "READY <issuer>" on stdout once listening.

import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import argon2 from 'argon2';
import Provider, { errors } from 'oidc-provider';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { web, service, service_jwt: serviceJwt } = spec.clients;
const API_RESOURCE = 'urn:pocket-idp-bench:api';

// One RS256 signing key, generated at start-up and fixed for the process.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' };

const makeAccount = (username) => ({
  accountId: username,
  async claims() {
    return {
      sub: username,
      name: 'Bench User',
      email: 'bench@example.org',
      email_verified: true,
    };
  },
});
const accounts = new Map(
  [spec.user.username, spec.argon2_user.username].map((username) => [username, makeAccount(username)]),
);

const configuration = {
  clients: [
    {
      client_id: web.client_id,
      client_secret: web.client_secret,
      redirect_uris: [web.redirect_uri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: service.client_id,
      client_secret: service.client_secret,
      redirect_uris: [],
      grant_types: ['client_credentials'],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: serviceJwt.client_id,
      client_secret: serviceJwt.client_secret,
      redirect_uris: [],
      grant_types: ['client_credentials'],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [signingJwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'profile', 'email', 'offline_access'],
  async findAccount(_ctx, sub) {
    return accounts.get(sub);
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // The JWT service client always gets a JWT access token for the API,
      // without having to send a resource parameter.
      async defaultResource(ctx, client, oneOf) {
        if (oneOf) return oneOf;
        return client.clientId === serviceJwt.client_id ? API_RESOURCE : undefined;
      },
      async useGrantedResource() {
        return false;
      },
      async getResourceServerInfo(ctx, resourceIndicator, client) {
        if (resourceIndicator === API_RESOURCE && client.clientId === serviceJwt.client_id) {
          return {
            scope: 'api:read',
            audience: API_RESOURCE,
            accessTokenTTL: 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        }
        throw new errors.InvalidTarget();
      },
    },
  },
  pkce: { required: () => true },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
  // Consent is never asked: every client gets the scopes it requested.
  async loadExistingGrant(ctx) {
    const { client, session } = ctx.oidc;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    if (grantId) {
      const existing = await ctx.oidc.provider.Grant.find(grantId);
      if (existing) return existing;
    }
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope('openid profile email offline_access');
    await grant.save();
    return grant;
  },
  interactions: {
    url(_ctx, interaction) {
      return `/interaction/${interaction.uid}`;
    },
  },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    ClientCredentials: 600,
    IdToken: 3600,
    Interaction: 600,
    RefreshToken: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
  },
};

const provider = new Provider(spec.issuer, configuration);
const providerCallback = provider.callback();

const escapeHtml = (value) => String(value)
  .replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
  .replaceAll('"', '&quot;').replaceAll("'", '&#39;');

function loginPage(uid, message) {
  const error = message ? `<p class="error">${escapeHtml(message)}</p>` : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body><h1>Sign in</h1>${error}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
<input type="hidden" name="uid" value="${escapeHtml(uid)}">
<label>Username <input type="text" name="username" required></label>
<label>Password <input type="password" name="password" required></label>
<button type="submit">Sign in</button>
</form></body></html>`;
}

function sendHtml(res, status, body) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// The bench account: a deliberately trivial check, one constant password. The
// argon2 account: one argon2id verify, the cost our IdP pays at every sign-in.
async function passwordMatches(username, password) {
  if (username === spec.user.username) return password === spec.user.password;
  if (username === spec.argon2_user.username) {
    return argon2.verify(spec.argon2_user.password_hash, password ?? '');
  }
  return false;
}

async function handleInteraction(req, res, url) {
  const parts = url.pathname.split('/').filter(Boolean); // ["interaction", uid, ("login")]
  const details = await provider.interactionDetails(req, res);
  if (parts[1] !== details.uid) {
    sendHtml(res, 400, 'interaction mismatch');
    return;
  }
  if (req.method === 'GET' && parts.length === 2) {
    if (details.prompt.name === 'login') {
      sendHtml(res, 200, loginPage(details.uid));
      return;
    }
    // Any other prompt (consent) is granted straight away.
    const grant = new provider.Grant({ clientId: details.params.client_id, accountId: details.session.accountId });
    grant.addOIDCScope(String(details.params.scope || 'openid'));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  if (req.method === 'POST' && parts[2] === 'login') {
    const form = await readForm(req);
    const username = form.get('username');
    if (!(await passwordMatches(username, form.get('password')))) {
      sendHtml(res, 200, loginPage(details.uid, 'Invalid username or password.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: username } }, { mergeWithLastSubmission: false });
    return;
  }
  sendHtml(res, 404, 'not found');
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, spec.issuer);
  if (url.pathname.startsWith('/interaction/')) {
    handleInteraction(req, res, url).catch((err) => {
      if (!res.headersSent) sendHtml(res, 400, escapeHtml(err.message));
      else res.end();
    });
    return;
  }
  providerCallback(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(spec.port, '127.0.0.1', () => {
  process.stdout.write(`READY ${spec.issuer}\n`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

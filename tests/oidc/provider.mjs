// A real OpenID Connect provider for waitboard's tests: node-oidc-provider (OpenID certified)
// with test users, one confidential client, a clock the test sets and groups it changes.
//
//   node tests/oidc/provider.mjs --config CONFIG.json [--host 127.0.0.1] [--port 0]
//
// It binds HOST (default 127.0.0.1) and names itself http://localhost:<port> as the issuer,
// so that a relying party on 127.0.0.1 is another site and the way back to it is a real
// cross-site navigation. --port 0 (the default) takes a free port; either way it writes
// "oidc-provider ready issuer=http://localhost:<port>" on stdout once it serves. It stops on
// SIGTERM or SIGINT, and by itself when the process that started it is gone.
//
// CONFIG.json (written by tests/oidc_provider.py):
//   client        client_id, client_secret, redirect_uris, post_logout_redirect_uris
//                 (optional: token_endpoint_auth_method, default client_secret_basic)
//   jwk           the private signing key (RSA or EC P-256, with kid); RS256 or ES256
//   admin_token   the bearer token of the /__test/ endpoints below
//   users         optional, default users.json beside this file:
//                 {"alice": {"password", "sub", "name", "email", "groups"}, ...}
//   ttl           optional, lifetimes in seconds by oidc-provider model (IdToken, Session, ...)
//
// What it does as a provider: authorization code flow only, PKCE (S256) required of every
// client; scopes openid profile email groups offline_access, the claims of each scope in the
// ID token and at userinfo ("groups": a list of strings); refresh tokens when offline_access
// is asked for with prompt=consent (OpenID Connect Core 11); RP-initiated logout.
// Login is a plain HTML form (/interaction/<uid>: "Username", "Password", "Sign in") that
// checks the password; consent is given without a page, as an office's provider does for its
// own applications.
//
// Test endpoints, for the test only (Authorization: Bearer <admin_token>, JSON):
//   GET  /__test/clock                   {"now": epoch seconds, "frozen": bool}
//   PUT  /__test/clock {"now": s, "frozen": bool}   the provider's "now" from here on;
//        frozen: it stands still, else it runs on from there. Every date the provider
//        writes or checks (iat, exp, sessions, codes, tokens, stored entries) follows it;
//        a cookie's Expires is written back into real time, for the browser's clock.
//   PUT  /__test/clock {"advance": s}    moves it by s seconds
//   PUT  /__test/users/<username>/groups ["g1", ...]   the user's groups in the next claims
//   PUT  /__test/next-id-token {"id_token": "..."}   the token endpoint's next answer with an
//        ID token carries this one instead (a token the test signed: a forged key, expired,
//        another audience or nonce), so that a relying party's whole callback is tested
//   PUT  /__test/client {"redirect_uris": [...], ...}  the client's metadata changed (checked
//        as the provider checks a client; 400 with the reason)
//   POST /__test/reset                   back to the start: the clock to real time, the users'
//        groups and the client as configured, every session, grant, code and token gone
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { timingSafeEqual, randomBytes } from 'node:crypto';

// --- the clock -------------------------------------------------------------------------
// oidc-provider, jose, koa's cookies and the storage below all read Date.now() or new Date()
// when called, so replacing the global Date moves all of them at once.
const RealDate = Date;
const realNow = () => RealDate.now();
let offsetMs = 0;
let frozenAt = null;
const now = () => (frozenAt ?? realNow() + offsetMs);

class ShiftedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(now());
    else super(...args);
  }

  static now() {
    return now();
  }
}
globalThis.Date = ShiftedDate;

const { default: Provider } = await import('oidc-provider');

// --- configuration ---------------------------------------------------------------------
const { values: args } = parseArgs({
  options: {
    config: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
  },
});
if (!args.config) {
  console.error('usage: node provider.mjs --config CONFIG.json [--host 127.0.0.1] [--port 0]');
  process.exit(2);
}
const config = JSON.parse(readFileSync(args.config, 'utf8'));
const initialUsers = config.users
  ?? JSON.parse(readFileSync(new URL('./users.json', import.meta.url), 'utf8'));
let users = structuredClone(initialUsers);
const userBySub = (sub) => Object.values(users).find((u) => u.sub === sub);
const adminToken = Buffer.from(config.admin_token ?? '');
if (adminToken.length < 16) {
  console.error('config.admin_token: at least 16 characters');
  process.exit(2);
}
const { jwk } = config;
const alg = jwk.kty === 'EC' ? 'ES256' : 'RS256';
const initialClient = {
  post_logout_redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
  ...config.client,
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  scope: 'openid profile email groups offline_access',
  id_token_signed_response_alg: alg,
};
let client = structuredClone(initialClient);
// The ID token the token endpoint hands out next instead of its own (PUT /__test/next-id-token).
let nextIdToken = null;

// --- storage ---------------------------------------------------------------------------
// In memory, as oidc-provider's own development adapter, but one the test can empty; the
// client is served from here too (not a static client), so that the test can change it.
const store = new Map();
const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest']);

function get(key) {
  const entry = store.get(key);
  if (entry && entry.expiresAt !== null && entry.expiresAt <= now()) store.delete(key);
  return store.get(key)?.value;
}

function set(key, value, expiresIn) {
  store.set(key, { value, expiresAt: expiresIn ? now() + expiresIn * 1000 : null });
}

class TestAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    if (this.model === 'Session') set(`sessionUid:${payload.uid}`, id, expiresIn);
    if (payload.userCode) set(`userCode:${payload.userCode}`, id, expiresIn);
    if (grantable.has(this.model) && payload.grantId) {
      const grantKey = `grant:${payload.grantId}`;
      set(grantKey, [...(get(grantKey) ?? []), this.key(id)]);
    }
    set(this.key(id), payload, expiresIn);
  }

  async find(id) {
    if (this.model === 'Client') return id === client.client_id ? structuredClone(client) : undefined;
    return get(this.key(id));
  }

  async findByUid(uid) {
    return this.find(get(`sessionUid:${uid}`));
  }

  async findByUserCode(userCode) {
    return this.find(get(`userCode:${userCode}`));
  }

  async consume(id) {
    const payload = get(this.key(id));
    if (payload) payload.consumed = Math.floor(now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of get(`grant:${grantId}`) ?? []) store.delete(key);
    store.delete(`grant:${grantId}`);
  }
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><main><h1>${escape(title)}</h1>
${body}
</main></body></html>`;

// --- the provider ----------------------------------------------------------------------
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(args.port), args.host, resolve);
});
const { port } = server.address();
const issuer = `http://localhost:${port}`;

const provider = new Provider(issuer, {
  adapter: TestAdapter,
  jwks: { keys: [{ alg, use: 'sig', ...jwk }] },
  async findAccount(ctx, sub) {
    const user = userBySub(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          name: user.name,
          email: user.email,
          email_verified: true,
          groups: [...user.groups],
        };
      },
    };
  },
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
  // The scopes' claims in the ID token too, not only at userinfo.
  conformIdTokenClaims: false,
  responseTypes: ['code'],
  pkce: { methods: ['S256'], required: () => true },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 3600,
    Grant: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
    RefreshToken: 14 * 24 * 3600,
    ...config.ttl,
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page('Sign out', `${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<p>You are signed out.</p>');
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<dl>${Object.entries(out)
      .map(([k, v]) => `<dt>${escape(k)}</dt><dd>${escape(v)}</dd>`).join('')}</dl>`);
  },
});
for (const event of ['server_error', 'authorization.error', 'grant.error', 'end_session.error',
  'userinfo.error']) {
  provider.on(event, (...a) => {
    const error = a.find((x) => x instanceof Error);
    console.error(`${event}: ${error?.name} ${error?.message} ${error?.error_description ?? ''}`);
  });
}

// --- login and consent -----------------------------------------------------------------
async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function loginForm(res, uid, { username = '', error = '' } = {}) {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(page('Sign in', `${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
<p><label>Username <input name="username" value="${escape(username)}" required autofocus></label></p>
<p><label>Password <input type="password" name="password" required></label></p>
<p><button type="submit">Sign in</button></p>
</form>`));
}

// Consent without a page: everything the client asks for is granted.
async function consent(req, res, details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const saved = await grant.save();
  // (Named every time: a prompt=consent asks for consent again though a grant exists.)
  const result = { consent: { grantId: saved } };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

async function interaction(req, res, url) {
  const [, , uid, action] = url.pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET' && !action) {
    if (details.prompt.name === 'login') return loginForm(res, uid);
    if (details.prompt.name === 'consent') return consent(req, res, details);
  }
  if (req.method === 'POST' && action === 'login' && details.prompt.name === 'login') {
    const form = new URLSearchParams(await readBody(req));
    const username = form.get('username') ?? '';
    const user = Object.hasOwn(users, username) ? users[username] : undefined;
    if (!user || user.password !== form.get('password')) {
      return loginForm(res, uid, { username, error: 'Wrong username or password.' });
    }
    return provider.interactionFinished(req, res, { login: { accountId: user.sub } }, {
      mergeWithLastSubmission: false,
    });
  }
  res.writeHead(400, { 'content-type': 'text/plain' });
  return res.end(`unexpected ${req.method} ${url.pathname} at prompt ${details.prompt.name}`);
}

// --- the test's endpoints --------------------------------------------------------------
function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

function clockState() {
  return { now: now() / 1000, frozen: frozenAt !== null };
}

async function admin(req, res, url) {
  const given = Buffer.from((req.headers.authorization ?? '').replace(/^Bearer /, ''));
  if (given.length !== adminToken.length || !timingSafeEqual(given, adminToken)) {
    return json(res, 401, { error: 'admin token required' });
  }
  const body = req.method === 'PUT' ? JSON.parse((await readBody(req)) || 'null') : null;
  if (url.pathname === '/__test/clock') {
    if (req.method === 'GET') return json(res, 200, clockState());
    if (req.method === 'PUT' && typeof body?.advance === 'number') {
      if (frozenAt !== null) frozenAt += body.advance * 1000;
      else offsetMs += body.advance * 1000;
      return json(res, 200, clockState());
    }
    if (req.method === 'PUT' && typeof body?.now === 'number') {
      const target = Math.round(body.now * 1000);
      frozenAt = body.frozen ? target : null;
      offsetMs = body.frozen ? 0 : target - realNow();
      return json(res, 200, clockState());
    }
    return json(res, 400, { error: 'PUT {"now": s, "frozen": bool} or {"advance": s}' });
  }
  const groups = url.pathname.match(/^\/__test\/users\/([^/]+)\/groups$/);
  if (groups && req.method === 'PUT') {
    const username = decodeURIComponent(groups[1]);
    if (!Object.hasOwn(users, username)) return json(res, 404, { error: `no user ${username}` });
    if (!Array.isArray(body) || !body.every((g) => typeof g === 'string')) {
      return json(res, 400, { error: 'a JSON list of group names' });
    }
    users[username].groups = body;
    return json(res, 204);
  }
  if (url.pathname === '/__test/client' && req.method === 'PUT') {
    const changed = { ...client, ...body };
    try {
      await provider.Client.validate(changed);
    } catch (error) {
      return json(res, 400, { error: `${error.message}: ${error.error_description ?? ''}` });
    }
    client = changed;
    return json(res, 204);
  }
  if (url.pathname === '/__test/next-id-token' && req.method === 'PUT') {
    if (typeof body?.id_token !== 'string') return json(res, 400, { error: '{"id_token": "..."}' });
    nextIdToken = body.id_token;
    return json(res, 204);
  }
  if (url.pathname === '/__test/reset' && req.method === 'POST') {
    store.clear();
    nextIdToken = null;
    offsetMs = 0;
    frozenAt = null;
    users = structuredClone(initialUsers);
    client = structuredClone(initialClient);
    return json(res, 204);
  }
  return json(res, 404, { error: `no test endpoint ${req.method} ${url.pathname}` });
}

// --- serving ---------------------------------------------------------------------------
// A cookie's Expires is written by the provider's clock but read by the browser's: moved back
// by the clock's shift, a cookie lives as long in the browser as the provider meant.
function browserExpires(cookie) {
  return cookie.replace(/;\s*expires=([^;]+)/i, (_, date) => {
    const shifted = RealDate.parse(date) - (now() - realNow());
    return `; expires=${new RealDate(shifted).toUTCString()}`;
  });
}

// The token endpoint's answer with the test's ID token in place of the provider's own.
function swapIdToken(res) {
  const end = res.end.bind(res);
  res.end = (chunk, ...rest) => {
    if (chunk && nextIdToken !== null && res.statusCode === 200) {
      const answer = JSON.parse(Buffer.from(chunk).toString('utf8'));
      if (typeof answer.id_token === 'string') {
        answer.id_token = nextIdToken;
        nextIdToken = null;
        const body = JSON.stringify(answer);
        if (!res.headersSent) res.setHeader('content-length', Buffer.byteLength(body));
        return end(body, ...rest);
      }
    }
    return end(chunk, ...rest);
  };
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  const url = new URL(req.url, issuer);
  const writeHead = res.writeHead.bind(res);
  res.writeHead = (...head) => {
    const cookies = res.getHeader('set-cookie');
    if (cookies) res.setHeader('set-cookie', [].concat(cookies).map(browserExpires));
    return writeHead(...head);
  };
  if (url.pathname === '/token' && nextIdToken !== null) swapIdToken(res);
  try {
    if (url.pathname.startsWith('/__test/')) return await admin(req, res, url);
    if (url.pathname.startsWith('/interaction/')) return await interaction(req, res, url);
    return await callback(req, res);
  } catch (error) {
    console.error(`${req.method} ${url.pathname}: ${error.error_description ?? ''} ${error.stack ?? error}`);
    if (!res.headersSent) json(res, 500, { error: String(error.message ?? error) });
    else res.end();
  }
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// A test run that dies without stopping it (SIGKILL) leaves no provider behind.
const parent = process.ppid;
setInterval(() => process.ppid !== parent && stop(), 1000).unref();
console.log(`oidc-provider ready issuer=${issuer}`);

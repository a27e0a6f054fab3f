// Minimal HTTP/1.1 plumbing for the load driver: one keep-alive connection
// per worker (undici Client), a path-aware cookie jar, redirects and forms.

import { Client } from 'undici';

export class BenchError extends Error {}

export class Connection {
  constructor(origin) {
    this.origin = origin;
    this.client = new Client(origin, {
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    this.requests = 0;
  }

  // Returns {status, headers, text}; the body is always read in full.
  async send(method, path, headers, body) {
    this.requests += 1;
    const res = await this.client.request({ method, path, headers, body });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  }

  async close() {
    await this.client.close();
  }
}

export function basicAuth(clientId, clientSecret) {
  const enc = (v) => encodeURIComponent(v).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`;
}

export const FORM = 'application/x-www-form-urlencoded';

export function expectJson(res, what) {
  if (res.status !== 200) {
    throw new BenchError(`${what}: HTTP ${res.status}: ${res.text.slice(0, 200)}`);
  }
  try {
    return JSON.parse(res.text);
  } catch {
    throw new BenchError(`${what}: body is not JSON: ${res.text.slice(0, 200)}`);
  }
}

// Cookie jar for a single origin. Honours Path and deletion; ignores Secure
// (browsers treat http://127.0.0.1 as a secure context) and Domain.
export class CookieJar {
  constructor() {
    this.cookies = new Map(); // "name\0path" -> {name, value, path}
  }

  store(setCookie, requestPath) {
    if (!setCookie) return;
    const lines = Array.isArray(setCookie) ? setCookie : [setCookie];
    for (const line of lines) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = defaultPath(requestPath);
      let expired = false;
      for (const attr of attrs) {
        const i = attr.indexOf('=');
        const key = (i === -1 ? attr : attr.slice(0, i)).trim().toLowerCase();
        const val = i === -1 ? '' : attr.slice(i + 1).trim();
        if (key === 'path' && val.startsWith('/')) path = val;
        else if (key === 'max-age' && Number(val) <= 0) expired = true;
        else if (key === 'expires' && Date.parse(val) <= Date.now()) expired = true;
      }
      const key = `${name}\0${path}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
    }
  }

  header(requestPath) {
    const pathOnly = requestPath.split('?')[0];
    const matching = [];
    for (const c of this.cookies.values()) {
      if (pathMatches(pathOnly, c.path)) matching.push(c);
    }
    if (!matching.length) return undefined;
    matching.sort((a, b) => b.path.length - a.path.length);
    return matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

function defaultPath(requestPath) {
  const p = requestPath.split('?')[0];
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

function pathMatches(requestPath, cookiePath) {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

// A browser-like user agent bound to one origin: cookies + redirects.
export class Browser {
  constructor(conn) {
    this.conn = conn;
    this.jar = new CookieJar();
  }

  async request(method, url, { headers = {}, body } = {}) {
    const u = new URL(url);
    if (u.origin !== this.conn.origin) {
      throw new BenchError(`unexpected cross-origin request to ${u.origin}`);
    }
    const path = u.pathname + u.search;
    const h = { ...headers };
    const cookie = this.jar.header(path);
    if (cookie) h.cookie = cookie;
    const res = await this.conn.send(method, path, h, body);
    this.jar.store(res.headers['set-cookie'], u.pathname);
    res.url = u.href;
    return res;
  }

  // Follows redirects until one points at stopPrefix (returned, not
  // requested) or a non-redirect response arrives.
  async follow(res, stopPrefix, maxHops = 10) {
    let current = res;
    for (let hop = 0; hop < maxHops; hop += 1) {
      if (current.status < 300 || current.status > 399) return { res: current };
      const location = current.headers.location;
      if (!location) throw new BenchError(`HTTP ${current.status} without Location`);
      const next = new URL(location, current.url).href;
      if (next.startsWith(stopPrefix)) return { redirect: next };
      current = await this.request('GET', next);
    }
    throw new BenchError('too many redirects');
  }
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };

export function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return String.fromCodePoint(code);
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

function parseAttrs(s) {
  const attrs = {};
  const re = /([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
  for (const m of s.matchAll(re)) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

// Finds the sign-in form (the one with a password input) and returns its
// absolute action, method and fields: every hidden input is kept as is,
// the first text-like input gets the username, password inputs the password.
export function fillLoginForm(html, pageUrl, username, password) {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)];
  const form = forms.find((f) => /type\s*=\s*["']?password/i.test(f[2]));
  if (!form) {
    throw new BenchError(`no sign-in form at ${pageUrl}: ${html.replace(/\s+/g, ' ').slice(0, 300)}`);
  }
  const formAttrs = parseAttrs(form[1]);
  const fields = new URLSearchParams();
  let userFilled = false;
  for (const m of form[2].matchAll(/<input\b([^>]*)>/gi)) {
    const a = parseAttrs(m[1]);
    if (!a.name) continue;
    const type = (a.type || 'text').toLowerCase();
    if (type === 'hidden') fields.append(a.name, a.value ?? '');
    else if (type === 'password') fields.append(a.name, password);
    else if (['text', 'email', 'tel'].includes(type) && !userFilled) {
      fields.append(a.name, username);
      userFilled = true;
    } else if ((type === 'checkbox' || type === 'radio') && 'checked' in a) {
      fields.append(a.name, a.value ?? 'on');
    } else if (type === 'submit' && !fields.has(a.name)) {
      fields.append(a.name, a.value ?? '');
    }
  }
  // The button a person clicks to sign in: a named submit button that is
  // not a cancel/deny one (those carry formnovalidate or say so).
  const buttons = [...form[2].matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)]
    .map((m) => ({ a: parseAttrs(m[1]), label: m[2] }))
    .filter(({ a }) => a.name && (a.type ?? 'submit').toLowerCase() === 'submit');
  const cancelLike = ({ a, label }) => 'formnovalidate' in a
    || /cancel|deny|abort|back|reject/i.test(`${a.value ?? ''} ${a.id ?? ''} ${label}`);
  const button = buttons.find((b) => !cancelLike(b)) ?? buttons[0];
  if (button) fields.append(button.a.name, button.a.value ?? '');
  if (!userFilled) throw new BenchError(`sign-in form at ${pageUrl} has no username field`);
  return {
    action: new URL(formAttrs.action || pageUrl, pageUrl).href,
    method: (formAttrs.method || 'get').toUpperCase(),
    body: fields.toString(),
  };
}

// The form on a page that has an input or button named `field`, filled with
// its hidden inputs plus `values`; for pages other than the sign-in form.
export function fillForm(html, pageUrl, field, values) {
  const named = new RegExp(`name\\s*=\\s*["']?${field}["'\\s>]`, 'i');
  const form = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].find((f) => named.test(f[2]));
  if (!form) {
    throw new BenchError(`no form with "${field}" at ${pageUrl}: ${html.replace(/\s+/g, ' ').slice(0, 300)}`);
  }
  const fields = new URLSearchParams();
  for (const m of form[2].matchAll(/<input\b([^>]*)>/gi)) {
    const a = parseAttrs(m[1]);
    if (a.name && (a.type || '').toLowerCase() === 'hidden') fields.append(a.name, a.value ?? '');
  }
  for (const [name, value] of Object.entries(values)) fields.set(name, value);
  return { action: new URL(parseAttrs(form[1]).action || pageUrl, pageUrl).href, body: fields.toString() };
}

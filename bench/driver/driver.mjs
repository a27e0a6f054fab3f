// Closed-loop load driver: N workers, each with its own keep-alive
// connection, repeat one operation for warmup + duration seconds.
//
// Usage: node driver.mjs < SPEC.json   (prints one JSON result line)
// SPEC: {target: {issuer, clients, user, scope?, cc_scope?, totp?, argon2_user?} | {url} (static),
//        workload, concurrency, warmup_s, duration_s, server_pid?, server_tree_pids?, clk_tck?}

import { readFileSync, readdirSync } from 'node:fs';

import {
  clientCredentials, enrollTotp, introspect, login, loginWithCode, refresh, Target,
} from './flows.mjs';
import { BenchError, Browser, Connection } from './http.mjs';
import { PERIOD_S, currentStep } from './totp.mjs';

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// Users with an authenticator app, shared by the workers of login_totp. A code
// is accepted once (and no earlier one after it), one time step of skew either
// way, so each user gives at most two sign-ins per step: now and the next.
class CodeUsers {
  constructor(accounts, state) {
    this.entries = accounts.map((account) => ({
      account,
      secret: state[account.username]?.secret ?? null,
      last: state[account.username]?.last_step ?? -1,
    }));
    this.waits = 0;
  }

  // The user whose next unused step comes first, and that step.
  async take() {
    for (;;) {
      const now = currentStep();
      let best = null;
      for (const e of this.entries) {
        if (!e.secret) continue;
        const step = Math.max(e.last + 1, now);
        if (step <= now + 1 && (!best || step < best.step)) best = { e, step };
      }
      if (best) {
        best.e.last = best.step;
        return { account: best.e.account, secret: best.e.secret, step: best.step };
      }
      this.waits += 1; // every code of every user is used: wait for the next step
      await sleep((now + 1) * PERIOD_S * 1000 - Date.now() + 50);
    }
  }

  state() {
    return Object.fromEntries(this.entries.filter((e) => e.secret).map((e) => [
      e.account.username, { secret: e.secret, last_step: e.last },
    ]));
  }
}


// Each workload: setup(ctx) once per worker (untimed), op(ctx) timed.
const WORKLOADS = {
  static: {
    op: async (w) => {
      const res = await w.conn.send('GET', w.staticPath, {});
      if (res.status !== 200) throw new BenchError(`HTTP ${res.status}`);
    },
  },
  discovery: {
    op: async (w) => {
      const res = await w.conn.send('GET', w.target.path(w.target.discoveryUrl), {});
      if (res.status !== 200) throw new BenchError(`discovery: HTTP ${res.status}`);
    },
  },
  jwks: {
    op: async (w) => {
      const res = await w.conn.send('GET', w.target.path(w.target.meta.jwks_uri), {});
      if (res.status !== 200) throw new BenchError(`jwks: HTTP ${res.status}`);
    },
  },
  cc_opaque: {
    op: (w) => clientCredentials(w.target, w.conn, w.target.clients.service, false),
  },
  cc_jwt: {
    op: (w) => clientCredentials(w.target, w.conn, w.target.clients.service_jwt, true),
  },
  introspect: {
    setup: async (w) => {
      w.token = await clientCredentials(w.target, w.conn, w.target.clients.service, false);
    },
    op: (w) => introspect(w.target, w.conn, w.target.clients.service, w.token),
  },
  refresh: {
    setup: async (w) => {
      const tokens = await login(w.target, new Browser(w.conn));
      if (!tokens.refresh_token) throw new BenchError('code exchange returned no refresh_token');
      w.refreshToken = tokens.refresh_token;
    },
    op: async (w) => {
      w.refreshToken = await refresh(w.target, w.conn, w.refreshToken);
    },
  },
  login: {
    op: (w) => login(w.target, new Browser(w.conn)),
  },
  login_argon2: {
    // login with the account whose password the server checks with argon2id
    prepare: async (target) => {
      if (!target.argon2User) throw new Error('login_argon2: this target has no argon2_user');
      return null;
    },
    op: (w) => login(w.target, new Browser(w.conn), { account: w.target.argon2User }),
  },
  login_totp: {
    // once per run: enroll the users that have no authenticator app yet
    prepare: async (target, origin) => {
      if (!target.totp) throw new Error('login_totp: this target has no authenticator-app users');
      const users = new CodeUsers(target.totp.users, target.totp.state || {});
      const missing = users.entries.filter((e) => !e.secret);
      for (let i = 0; i < missing.length; i += 4) {
        await Promise.all(missing.slice(i, i + 4).map(async (e) => {
          const conn = new Connection(origin);
          try {
            const enrolled = await enrollTotp(target, new Browser(conn), e.account);
            e.secret = enrolled.secret;
            e.last = enrolled.last_step;
          } finally {
            await conn.close().catch(() => {});
          }
        }));
      }
      return users;
    },
    op: async (w) => {
      const { account, secret, step } = await w.shared.take();
      await loginWithCode(w.target, new Browser(w.conn), account, secret, step);
    },
  },
  login_sso: {
    setup: async (w) => {
      w.browser = new Browser(w.conn);
      await login(w.target, w.browser);
    },
    op: (w) => login(w.target, w.browser, { expectSso: true }),
  },
};

function cpuTicks(pid) {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return null;
  }
}

// CPU ticks of process trees: each root's own (utime + stime) and its reaped
// children's (cutime + cstime), plus the live descendants' own.
function treeTicks(roots) {
  if (!roots || !roots.length) return null;
  const procs = new Map(); // pid -> {ppid, own, reaped}
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(name), {
        ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]),
      });
    } catch { /* gone meanwhile */ }
  }
  let total = 0;
  const wanted = new Set(roots);
  for (const root of roots) total += procs.get(root)?.reaped ?? 0;
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, p] of procs) {
      if (!wanted.has(pid) && wanted.has(p.ppid)) { wanted.add(pid); grew = true; }
    }
  }
  for (const pid of wanted) total += procs.get(pid)?.own ?? 0;
  return total;
}

// Busy and total jiffies of each CPU, from /proc/stat.
function cpuTimes() {
  try {
    const out = {};
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^cpu(\d+)\s+(.*)$/.exec(line);
      if (!m) continue;
      const v = m[2].trim().split(/\s+/).map(Number);
      const idle = v[3] + (v[4] || 0); // idle + iowait
      const total = v.slice(0, 8).reduce((s, x) => s + x, 0); // up to steal
      out[m[1]] = { busy: total - idle, total };
    }
    return out;
  } catch {
    return null;
  }
}

function busyPct(before, after) {
  if (!before || !after) return null;
  const out = {};
  for (const [cpu, b] of Object.entries(before)) {
    const a = after[cpu];
    if (a && a.total > b.total) out[cpu] = (100 * (a.busy - b.busy)) / (a.total - b.total);
  }
  return out;
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

async function main() {
  const spec = JSON.parse(readFileSync(0, 'utf8'));
  const workload = WORKLOADS[spec.workload];
  if (!workload) throw new Error(`unknown workload ${spec.workload}`);
  const n = spec.concurrency;

  let target = null;
  let origin;
  let staticPath = '/';
  if (spec.workload === 'static') {
    const u = new URL(spec.target.url);
    origin = u.origin;
    staticPath = u.pathname + u.search;
  } else {
    target = new Target(spec.target);
    origin = target.origin;
    const conn = new Connection(origin);
    await target.load(conn);
    await conn.close();
  }

  const shared = workload.prepare ? await workload.prepare(target, origin) : null;
  const workers = [];
  for (let i = 0; i < n; i += 1) {
    workers.push({ id: i, conn: new Connection(origin), target, staticPath, shared });
  }
  // Setup runs a few workers at a time so a slow login does not time out.
  for (let i = 0; i < workers.length; i += 4) {
    await Promise.all(workers.slice(i, i + 4).map((w) => (workload.setup ? workload.setup(w) : null)));
  }

  const latencies = [];
  const errorSamples = [];
  let errors = 0;
  let measuring = false;
  let stopping = false;
  let requestsAtStart = 0;

  const loop = async (w) => {
    while (!stopping) {
      // An operation counts when it completes inside the measured window.
      const t0 = performance.now();
      try {
        await workload.op(w);
        if (measuring && !stopping) latencies.push(performance.now() - t0);
      } catch (err) {
        if (measuring && !stopping) {
          errors += 1;
          if (errorSamples.length < 5) errorSamples.push(String(err.message || err));
        }
        if (!(err instanceof BenchError)) {
          // Transport failure: reconnect and redo the worker's setup.
          await w.conn.close().catch(() => {});
          w.conn = new Connection(origin);
        }
        if (workload.setup) await workload.setup(w).catch(() => sleep(50));
      }
    }
  };

  const running = workers.map(loop);
  await sleep(spec.warmup_s * 1000);
  const totalRequests = () => workers.reduce((s, w) => s + w.conn.requests, 0);
  requestsAtStart = totalRequests();
  const cpu0 = process.cpuUsage();
  const srv0 = cpuTicks(spec.server_pid);
  const tree0 = treeTicks(spec.server_tree_pids);
  const cpus0 = cpuTimes();
  const t0 = performance.now();
  measuring = true;
  await sleep(spec.duration_s * 1000);
  stopping = true;
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const srv1 = cpuTicks(spec.server_pid);
  const tree1 = treeTicks(spec.server_tree_pids);
  const cpus1 = cpuTimes();
  const requests = totalRequests() - requestsAtStart;
  await Promise.all(running);
  await Promise.all(workers.map((w) => w.conn.close().catch(() => {})));

  latencies.sort((a, b) => a - b);
  const ops = latencies.length;
  const clk = spec.clk_tck || 100;
  const result = {
    workload: spec.workload,
    concurrency: n,
    ops,
    errors,
    error_samples: errorSamples,
    elapsed_s: elapsed,
    ops_per_s: ops / elapsed,
    requests_per_s: requests / elapsed,
    latency_ms: {
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies.length ? latencies[latencies.length - 1] : null,
      mean: ops ? latencies.reduce((s, v) => s + v, 0) / ops : null,
    },
    driver_cpu_pct: (100 * (cpu.user + cpu.system)) / 1e6 / elapsed,
    server_cpu_pct: srv0 !== null && srv1 !== null ? (100 * (srv1 - srv0)) / clk / elapsed : null,
    // CPU seconds of server_tree_pids and their descendants in the window
    server_tree_cpu_s: tree0 !== null && tree1 !== null ? (tree1 - tree0) / clk : null,
    // how busy each CPU of the machine was, whoever used it
    cpu_busy_pct: busyPct(cpus0, cpus1),
  };
  if (shared instanceof CodeUsers) {
    result.totp_state = shared.state();
    result.totp_waits = shared.waits;
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err) => {
  process.stderr.write(`driver: ${err.stack || err}\n`);
  process.exit(1);
});

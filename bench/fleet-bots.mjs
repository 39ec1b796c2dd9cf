// The simulated bots of bench/fleet.ts, in a process of their own so the
// server's figures are the server's. Usage: fleet-bots.mjs MODE URL TOKEN BOTS HEARTBEAT_MS
// MODE `orchestra` speaks the bot protocol (register, heartbeat, long-poll
// claims, reports); `bare` calls the bare routes doing the same store work.
// Each bot takes up to three tests, reports each at once, and heartbeats on
// its interval (the first beats spread over it). Prints `ready N` once every
// bot is registered; on stdin's end stops and prints one JSON line of figures.
const [mode, url, token, botCount, heartbeatMs] = [process.argv[2], process.argv[3], process.argv[4], Number(process.argv[5]), Number(process.argv[6])];
const json = { 'content-type': 'application/json' };
const evaluation = { success: true, value: 1, metrics: {}, reason: null, durationMs: 0 };
const figures = { heartbeats: [], claims: [], reports: [], completed: 0, errors: 0, firstError: null };
let stopping = false;

async function post(path, body, bearer) {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { ...json, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) }, body: JSON.stringify(body ?? {}) });
  const answer = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

const timed = async (into, call) => {
  const t = performance.now();
  const answer = await call();
  into.push(performance.now() - t);
  return answer;
};

function fail(err) {
  figures.errors++;
  figures.firstError ??= `${err?.message ?? err}${err?.cause ? ` (${err.cause.code ?? err.cause.message})` : ''}`;
}

const routes =
  mode === 'orchestra'
    ? {
        register: async (id) => (await post('/api/fleet/register', { botId: id }, token)).token,
        claim: (id, own, free) => post(`/api/fleet/bots/${id}/claim`, { free, waitMs: 5_000 }, own),
        complete: (id, own, task) => post(`/api/fleet/bots/${id}/tasks/${task.taskId}/complete`, { attempt: task.attempt, result: evaluation }, own),
        heartbeat: (id, own) => post(`/api/fleet/bots/${id}/heartbeat`, { running: [] }, own),
      }
    : {
        register: async (id) => (await post(`/register/${id}`, {})).token,
        claim: (id, _own, free) => post(`/claim/${id}`, { free }),
        complete: (_id, _own, task) => post(`/complete/${task.taskId}`, { attempt: task.attempt, result: evaluation }),
        heartbeat: (id) => post(`/heartbeat/${id}`, {}),
      };

async function runBot(id, own) {
  let running = 0;
  const work = async (task) => {
    try {
      await timed(figures.reports, () => routes.complete(id, own, task));
      figures.completed++;
    } catch (err) {
      fail(err);
    } finally {
      running--;
    }
  };
  while (!stopping) {
    if (running >= 3) {
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    try {
      const t = performance.now();
      const { tasks } = await routes.claim(id, own, 3 - running);
      if (tasks.length > 0) figures.claims.push(performance.now() - t);
      for (const task of tasks) {
        running++;
        void work(task);
      }
    } catch (err) {
      fail(err);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const ids = Array.from({ length: botCount }, (_, i) => `sim-${i}`);
const tokens = [];
for (let i = 0; i < ids.length; i += 100) tokens.push(...(await Promise.all(ids.slice(i, i + 100).map((id) => routes.register(id)))));
process.stdout.write(`ready ${botCount}\n`);
const beats = ids.map((id, i) =>
  setTimeout(function beat() {
    if (stopping) return;
    timed(figures.heartbeats, () => routes.heartbeat(id, tokens[i])).catch(fail);
    beats[i] = setTimeout(beat, heartbeatMs);
  }, Math.floor((i / ids.length) * heartbeatMs)),
);
const loops = ids.map((id, i) => runBot(id, tokens[i]));
process.stdin.resume();
process.stdin.on('end', async () => {
  stopping = true;
  for (const b of beats) clearTimeout(b);
  const sorted = (list) => list.sort((a, b) => a - b);
  const pct = (list, p) => (list.length ? list[Math.min(list.length - 1, Math.floor((p / 100) * list.length))] : NaN);
  const summary = {};
  for (const name of ['heartbeats', 'claims', 'reports']) {
    const list = sorted(figures[name]);
    summary[name] = { count: list.length, p50: pct(list, 50), p99: pct(list, 99) };
  }
  process.stdout.write(`${JSON.stringify({ ...summary, completed: figures.completed, errors: figures.errors, firstError: figures.firstError })}\n`);
  // Long polls still open end with the server; nothing more to say.
  void Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 100))]).then(() => process.exit(0));
});

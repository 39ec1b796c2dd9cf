// The SSE clients of bench/api.ts, in a process of their own so the server's
// figures are the server's: opens CLIENTS streams on URL (with TOKEN when given),
// reads frames, and on stdin's end prints one JSON line: how many events arrived
// and the p50 and p99 of their delivery latency (now minus the `sentAt` the
// publisher stamped, both on performance.timeOrigin + performance.now(),
// comparable across processes).
const [url, token, clients] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const now = () => performance.timeOrigin + performance.now();
const latencies = [];
let open = 0;
const aborts = [];
for (let i = 0; i < clients; i++) {
  const abort = new AbortController();
  aborts.push(abort);
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: abort.signal });
  open++;
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const at = frame.indexOf('"sentAt":');
          if (at >= 0) latencies.push(now() - Number.parseFloat(frame.slice(at + 9)));
        }
      }
    } catch {
      // Aborted at the end.
    }
  })();
}
process.stdout.write(`open ${open}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  for (const a of aborts) a.abort();
  latencies.sort((a, b) => a - b);
  const at = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] : Number.NaN);
  // Exit once the line is written: a pipe is written asynchronously.
  process.stdout.write(`${JSON.stringify({ delivered: latencies.length, p50: at(50), p99: at(99) })}\n`, () => process.exit(0));
});

/**
 * A/B parser throughput in one process: another checkout's parsers (e.g. `git archive main` unpacked
 * with a node_modules link) against this one's, json and nginx, in alternating 150 ms slices so the
 * load of a shared machine hits both alike (two separate runs of bench/parsers.ts differed by 2x
 * under load). Usage: `node_modules/.bin/node bench/parsers-ab.ts <other checkout> [rounds]`.
 */
const OTHER = process.argv[2];
if (OTHER === undefined) throw new Error('usage: node bench/parsers-ab.ts <other checkout> [rounds]');
const A = await import(`${OTHER}/parsers/index.ts`);
const B = await import('../parsers/index.ts');
const { CASES, ctx } = await import('./parser-lines.ts');
const rounds = Number(process.argv[3] ?? 20);
for (const name of ['json', 'nginx']) {
  const lines = CASES[name].lines;
  const pa = A.createParser(name, { timezone: 'UTC', client_error_level: 'WARN' });
  const pb = B.createParser(name, { timezone: 'UTC', client_error_level: 'WARN' });
  const tot = { a: { n: 0, cpu: 0 }, b: { n: 0, cpu: 0 } };
  let sink = 0;
  const slice = (p: (line: string, c: typeof ctx) => unknown, t: { n: number; cpu: number }, count: boolean) => {
    const c0 = process.cpuUsage(); const t0 = performance.now(); let i = 0;
    while (performance.now() - t0 < 150) for (let k = 0; k < 512; k++) sink ^= p(lines[i++ % lines.length], ctx) ? 1 : 0;
    const c = process.cpuUsage(c0);
    if (count) { t.n += i; t.cpu += (c.user + c.system) / 1e6; }
  };
  for (let w = 0; w < 4; w++) { slice(pa, tot.a, false); slice(pb, tot.b, false); }
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) { slice(pa, tot.a, true); slice(pb, tot.b, true); } else { slice(pb, tot.b, true); slice(pa, tot.a, true); }
  }
  const ra = tot.a.n / tot.a.cpu, rb = tot.b.n / tot.b.cpu;
  console.log(`${name}: other ${Math.round(ra).toLocaleString('en-US')} lines/CPU-s, this ${Math.round(rb).toLocaleString('en-US')} lines/CPU-s, this/other ${(rb / ra).toFixed(3)}`);
  if (sink === 2) console.log(''); // keeps the results alive
}

import { readFileSync, readdirSync } from 'node:fs';

/** CPU seconds and memory of another process, from /proc (Linux). */
export interface ProcStats {
  cpuSeconds: number;
  userSeconds: number;
  systemSeconds: number;
  rssBytes: number;
  /** Peak RSS (VmHWM). */
  peakRssBytes: number;
}

const CLK_TCK = 100; // getconf CLK_TCK on Linux x86-64

export function readProcStats(pid: number): ProcStats | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" of the command name; utime and stime are fields 14 and 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(f[11]) / CLK_TCK;
    const stime = Number(f[12]) / CLK_TCK;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { cpuSeconds: utime + stime, userSeconds: utime, systemSeconds: stime, rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** Samples a process every `everyMs` and remembers the last good reading (the process may exit between samples). */
export class ProcSampler {
  last: ProcStats | null = null;
  maxRss = 0;
  readonly pid: number;
  private timer: NodeJS.Timeout;
  constructor(pid: number, everyMs = 100) {
    this.pid = pid;
    this.timer = setInterval(() => this.sample(), everyMs);
    this.sample();
  }
  sample(): ProcStats | null {
    const s = readProcStats(this.pid);
    if (s) {
      this.last = s;
      this.maxRss = Math.max(this.maxRss, s.peakRssBytes, s.rssBytes);
    }
    return s;
  }
  stop(): ProcStats | null {
    clearInterval(this.timer);
    this.sample();
    return this.last;
  }
}

/** CPU seconds of each thread of `pid` by kind: the main thread, pipeline workers, V8's platform workers (GC, TurboFan), the rest. */
export function threadCpu(pid: number): string {
  const by = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const kind = Number(tid) === pid ? 'main' : comm.startsWith('logship-pipelin') ? 'workers' : comm === 'V8Worker' ? 'gc/v8' : 'other';
      by.set(kind, (by.get(kind) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // a thread that ended meanwhile
    }
  }
  return [...by].map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
}

import { readFileSync } from 'node:fs';

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

import { spawn, type ChildProcess } from 'node:child_process';

/** A real Promtail (the binary from ../shared/peers) run on a config file with -config.expand-env. */
export class PromtailProcess {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(bin: string, configFile: string, env: NodeJS.ProcessEnv) {
    this.child = spawn(bin, [`-config.file=${configFile}`, '-config.expand-env=true'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: string) => (this.output = (this.output + d).slice(-20_000));
    this.child.stdout!.setEncoding('utf8').on('data', keep);
    this.child.stderr!.setEncoding('utf8').on('data', keep);
    this.exited = new Promise((r) => this.child.once('exit', (code, signal) => r({ code, signal })));
  }

  /** SIGTERM: Promtail stops its tailers (saving their positions) and flushes its client. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

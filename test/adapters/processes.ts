import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO } from '../helpers.ts';

/** A child process running one of the test scripts with tsx. */
export function runScript(script: string, args: string[], cwd = REPO): ChildProcess {
  return spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(REPO, script), ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with the exit code and everything the process printed. */
export function finished(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, out, err }));
  });
}

/** An app server (test/adapters/app-server.ts) on 127.0.0.1 over a project folder. */
export async function startAppServer(project: string): Promise<{ port: number; child: ChildProcess; log: () => string; stop: () => Promise<void> }> {
  const child = runScript('test/adapters/app-server.ts', [project]);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = finished(child);
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const line = buf.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`app server exited with ${code}: ${err}`)));
  });
  return {
    port,
    child,
    log: () => err,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

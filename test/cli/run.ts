import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO } from '../helpers.ts';

/** Runs the CLI as a child process, as a user would, without a terminal. */
export function convoyCli(cwd: string, args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(REPO, 'src/cli/run.ts'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    timeout: 120_000,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr, all: res.stdout + res.stderr };
}

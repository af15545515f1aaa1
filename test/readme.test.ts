import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { settingNames } from '../src/config.ts';
import { REPO } from './helpers.ts';

// A user has only the README: its settings table must name every option and its environment name.
test('the README settings table lists every option with its environment name', () => {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf('### Settings\n');
  assert.ok(start >= 0, 'README has a Settings section');
  const section = readme.slice(start, readme.indexOf('\n#', start + 1));
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const m = /^\| `(\w+)` \| ([^|]*) \|/.exec(line);
    if (m) rows.set(m[1]!, m[2]!);
  }
  const known = settingNames();
  assert.deepEqual([...rows.keys()].sort(), known.map((s) => s.option).sort());
  for (const { option, env } of known) {
    if (env) assert.ok(rows.get(option)!.includes(`\`${env}\``), `${option}: the table names ${env}`);
  }
});

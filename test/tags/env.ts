import path from 'node:path';
import nunjucks from 'nunjucks';
import { install } from '../../src/index.ts';
import type { ConvoyOptions } from '../../src/config.ts';
import { REPO, STYLES, fixtureProject, memoryLogger } from '../helpers.ts';

/** A real Nunjucks environment over templates-test/<style> with the tags installed on a fixture project. */
export function makeEnv(style: keyof typeof STYLES, options: ConvoyOptions = {}, dir = fixtureProject()) {
  const logger = memoryLogger();
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(REPO, 'templates-test', style)), { ...STYLES[style], autoescape: true });
  const convoy = install(env, { root: dir, sources: ['static', 'vendor'], staticRoot: 'out', logger, ...options });
  return { env, convoy, dir, logger, out: path.join(dir, 'out') };
}

/** Renders with a callback, as Express does. */
export function renderAsync(env: nunjucks.Environment, name: string, ctx: object): Promise<string> {
  return new Promise((resolve, reject) => env.render(name, ctx, (err, res) => (err ? reject(err) : res === null ? reject(new Error('render gave null')) : resolve(res))));
}

import fs from 'node:fs';
import path from 'node:path';
import { ConvoyError } from './errors.ts';
import type { Logger } from './config.ts';

/** What the checks read: the options as given and the folders they resolved to. */
export interface SetupFacts {
  /** The options object as the user wrote it (to tell "not set" from "set to the default"). */
  given: { staticRoot?: unknown; staticUrl?: unknown; sources?: unknown };
  root: string;
  staticRoot: string;
  /** Source root folders, resolved. */
  sourceDirs: string[];
  logger: Logger;
}

const said = new WeakMap<Logger, Set<string>>();

/** Warns once per logger: install, build and serve may each resolve the same options. */
function warnOnce(logger: Logger, message: string): void {
  let seen = said.get(logger);
  if (!seen) said.set(logger, (seen = new Set()));
  if (seen.has(message)) return;
  seen.add(message);
  logger.warn(message);
}

/**
 * Settings that are valid types but would quietly do the wrong thing: a relative `staticUrl`
 * (every page under a sub-path would ask for the wrong URL) is refused; a source folder that does
 * not exist and an unset `staticRoot` are warned about, naming the option and the folder.
 */
export function checkSetup(facts: SetupFacts): void {
  const url = facts.given.staticUrl;
  if (typeof url === 'string' && !/^(\/|[a-z][a-z0-9+.-]*:\/\/)/i.test(url)) {
    throw new ConvoyError('E_CONFIG', `option "staticUrl" must start with "/" or be an absolute URL (https://cdn.example.com/static/), got ${JSON.stringify(url)}: a relative prefix makes every page below the site root ask for the wrong URL`);
  }
  const rel = (p: string) => path.relative(facts.root, p) || '.';
  for (const dir of facts.sourceDirs) {
    if (!fs.existsSync(dir)) warnOnce(facts.logger, `option "sources": the folder ${rel(dir)} does not exist (paths resolve from ${facts.root}); nothing will be found there`);
  }
  if (facts.given.staticRoot === undefined) {
    warnOnce(facts.logger, `option "staticRoot" is not set: processed files are written to ${rel(facts.staticRoot)} (set staticRoot to the folder your server publishes)`);
  }
}

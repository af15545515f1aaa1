import { SCHEMA } from './config-schema.ts';
import { fail } from './config-validate.ts';
import type { ConvoyOptions } from './config.ts';
import { publishFromEnv } from './publish/settings.ts';

function parseBool(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  return fail(name, 'one of 1/0/true/false/yes/no', raw);
}

function splitList(raw: string): string[] {
  return raw.split(/[:,]/).map((s) => s.trim()).filter(Boolean);
}

/**
 * Reads the seed's settings (CONVOY_*, CARPOOL_*, SCSS_REBUILD, DEBUG …) from an environment
 * object such as `process.env`; names that are absent are left out so defaults still apply.
 */
export function configFromEnv(env: Record<string, string | undefined>): ConvoyOptions {
  const out: Record<string, unknown> = {};
  for (const [option, { kind, env: name }] of Object.entries(SCHEMA)) {
    if (!name) continue;
    const raw = env[name];
    if (raw === undefined) continue;
    // DEBUG is also the `debug` package's variable (DEBUG=express:*): only boolean values are ours.
    if (name === 'DEBUG' && !/^\s*(1|0|true|false|yes|no|on|off)?\s*$/i.test(raw)) continue;
    switch (kind) {
      case 'boolean':
        out[option] = parseBool(name, raw);
        break;
      case 'number':
      case 'count':
        if (!/^\d+$/.test(raw.trim())) fail(name, 'a whole number', raw);
        out[option] = Number(raw);
        break;
      case 'list':
      case 'sources':
        // CONVOY_SOURCES stays a list of plain folders.
        out[option] = raw.split(':').map((s) => s.trim()).filter(Boolean);
        break;
      case 'compress':
        out[option] = splitList(raw);
        break;
      case 'sourceMaps':
        out[option] = raw.trim().toLowerCase() === 'hidden' ? 'hidden' : parseBool(name, raw);
        break;
      case 'engines': {
        // "js=swc,css=lightningcss"
        const engines: Record<string, string> = {};
        for (const pair of splitList(raw)) {
          const [k, v] = pair.split('=').map((s) => s.trim());
          if (!k || !v) fail(name, 'pairs like js=swc,css=lightningcss', raw);
          engines[k] = v;
        }
        out[option] = engines;
        break;
      }
      default:
        // Env strings may carry "\n" escapes (e.g. CARPOOL_CSS_TEMPLATE).
        out[option] = raw.replace(/\\n/g, '\n');
    }
  }
  const publish = publishFromEnv(env);
  if (publish) out.publish = publish;
  return out as ConvoyOptions;
}

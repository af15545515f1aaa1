import { ConvoyError } from './errors.ts';
import { SCHEMA, type Kind } from './config-schema.ts';
import type { ConvoyOptions, Engines } from './config.ts';
import { checkPublishOptions } from './publish/settings.ts';

// The implementations each step accepts; anything else is a typo worth an error, not a silent default.
const ENGINE_CHOICES: { [K in keyof Engines]: readonly Engines[K][] } = {
  js: ['terser', 'swc'],
  css: ['clean-css', 'lightningcss'],
  sass: ['sass', 'sass-embedded'],
};

/** Throws the E_CONFIG error naming the option, what it expects and what it got. */
export function fail(option: string, expected: string, got: unknown): never {
  const shown = typeof got === 'string' ? JSON.stringify(got) : typeof got === 'object' ? JSON.stringify(got) ?? String(got) : String(got);
  throw new ConvoyError('E_CONFIG', `option "${option}" expects ${expected}, got ${shown}`);
}

/** Checks every given option: unknown names and wrong types are errors naming the option. */
export function checkOptions(options: ConvoyOptions): void {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  for (const [key, value] of Object.entries(options)) {
    const row = (SCHEMA as Record<string, { kind: Kind } | undefined>)[key];
    if (!row) {
      throw new ConvoyError('E_CONFIG', `unknown option "${key}" (known options: ${Object.keys(SCHEMA).join(', ')})`);
    }
    if (value !== undefined) checkType(key as keyof ConvoyOptions, row.kind, value);
  }
}

function checkType(option: keyof ConvoyOptions, kind: Kind, value: unknown): void {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') fail(option, 'a string', value);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') fail(option, 'true or false', value);
      break;
    case 'count':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(option, 'a whole number ≥ 1', value);
      break;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(option, 'a number of seconds ≥ 0', value);
      break;
    case 'list':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) fail(option, 'a list of non-empty strings', value);
      break;
    case 'sources':
      if (!Array.isArray(value)) fail(option, 'a list of folders or { dir, prefix?, include?, exclude? } objects', value);
      value.forEach((entry: unknown, i) => checkSourceRoot(`${option}[${i}]`, entry));
      break;
    case 'sass':
      if (!isObj(value)) fail(option, 'an object like { loadPaths, silenceDeprecations, quietDeps }', value);
      for (const [key, v] of Object.entries(value)) {
        if (key === 'quietDeps') {
          if (typeof v !== 'boolean') fail(`${option}.${key}`, 'true or false', v);
        } else if (key === 'loadPaths' || key === 'silenceDeprecations') {
          if (!isStringList(v)) fail(`${option}.${key}`, 'a list of non-empty strings', v);
        } else {
          fail(`${option}.${key}`, 'one of loadPaths, silenceDeprecations, quietDeps', key);
        }
      }
      break;
    case 'compress':
      if (!Array.isArray(value) || !value.every((v) => v === 'gzip' || v === 'br')) fail(option, "a list of 'gzip' and 'br'", value);
      break;
    case 'sourceMaps':
      if (typeof value !== 'boolean' && value !== 'hidden') fail(option, "true, false or 'hidden'", value);
      break;
    case 'object':
      if (!isObj(value)) fail(option, 'an object', value);
      break;
    case 'logger':
      if (!isObj(value) || !['warn', 'error', 'info'].every((m) => typeof value[m] === 'function')) {
        fail(option, 'an object with warn, error and info functions', value);
      }
      break;
    case 'engines':
      if (!isObj(value)) fail(option, 'an object like { js: "terser", css: "clean-css", sass: "sass" }', value);
      for (const [step, engine] of Object.entries(value)) {
        const choices = (ENGINE_CHOICES as Record<string, readonly string[]>)[step];
        if (!choices) fail(`${option}.${step}`, `one of the steps ${Object.keys(ENGINE_CHOICES).join(', ')}`, step);
        if (!choices.includes(engine as string)) fail(`${option}.${step}`, `one of ${choices.join(', ')}`, engine);
      }
      break;
    case 'publish':
      checkPublishOptions(value);
      break;
    case 'bundles':
      if (!isObj(value)) fail(option, "an object of named lists, like { site: ['css/reset.css', 'css/*.css'] }", value);
      for (const [name, list] of Object.entries(value)) {
        if (!name.trim()) fail(option, 'bundle names that are not empty', name);
        if (!Array.isArray(list) || !list.length || !list.every((v) => typeof v === 'string' && v.trim() !== '')) fail(`${option}.${name}`, 'a non-empty list of paths or globs', list);
      }
      break;
  }
}

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string' && x !== '');

function checkSourceRoot(name: string, entry: unknown): void {
  if (typeof entry === 'string') {
    if (!entry) fail(name, 'a non-empty folder', entry);
    return;
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(name, 'a folder or { dir, prefix?, include?, exclude? }', entry);
  const e = entry as Record<string, unknown>;
  if (typeof e.dir !== 'string' || !e.dir) fail(`${name}.dir`, 'a non-empty folder', e.dir);
  for (const [key, v] of Object.entries(e)) {
    if (key === 'dir') continue;
    if (key === 'prefix') {
      if (typeof v !== 'string' || v.split('/').some((seg) => seg === '..' || seg === '.') || v.includes('\\')) fail(`${name}.prefix`, 'a URL path without . or .. segments', v);
    } else if (key === 'include' || key === 'exclude') {
      if (!(typeof v === 'string' && v) && !isStringList(v)) fail(`${name}.${key}`, 'a glob or a list of globs', v);
    } else {
      fail(`${name}.${key}`, 'one of dir, prefix, include, exclude', key);
    }
  }
}

import { parseArgs } from 'node:util';
import { ConvoyError, messageOf } from '../errors.ts';
import { configFromEnv, type ConvoyOptions } from '../config.ts';
import { build, cleanReport } from '../build.ts';
import { loadConfigFile } from './config-file.ts';
import { progressBar, summarize } from './report.ts';
import { watchCommand } from './watch.ts';
import { PUBLISH_HELP, runPublishCommand } from './publish.ts';

const HELP: Record<string, string> = {
  main: `convoy — the nunjucks-convoy asset pipeline

Usage:
  convoy build [options]   process every source into staticRoot and write the manifest
  convoy clean [options]   remove outputs the manifest no longer names
  convoy watch [options]   build, then rebuild what each change touches until stopped
  convoy publish [options] upload the build to an S3-compatible bucket (publish setting)
  convoy prune [options]   delete objects no recent release names from the bucket
  convoy help [command]    this text, or a command's

Configuration, later sources winning: convoy.config.{mjs,js,json} (or a "convoy" key in
package.json), then environment variables (CONVOY_*, CARPOOL_*, STATIC_ROOT …), then flags.
`,
  build: `convoy build [--config FILE] [--parse-templates] [--templates GLOB …] [--strict] [--force]
             [--jobs N] [--static-root DIR] [--quiet]

  --config FILE        read options from FILE instead of ./convoy.config.{mjs,js,json}
  --parse-templates    scan the templates and prebuild every scss/coffee/convoy/carpool tag
  --templates GLOB     template glob under each template root (repeatable; default templateGlob)
  --strict             exit 1 on warnings too (a tag not prebuilt, a missing url() target …)
  --force              rebuild everything, ignoring the manifest
  --jobs N             threads to use (default: all cores; 1 = no compression in parallel)
  --static-root DIR    write outputs there instead of the configured staticRoot
  --quiet              print only problems and the summary

Exit status: 0 done, 1 errors (or warnings with --strict), 2 bad usage or configuration.
`,
  clean: `convoy clean [--config FILE] [--static-root DIR]

Removes files under staticRoot that neither the manifest nor the last build's replaced list names.
Outputs a build replaces are kept one more build, for pages browsers still have cached. It holds
the manifest lock while it works, keeps files running app servers wrote but have not saved yet,
and removes temp files (older than 10 minutes) of processes killed mid-write.

Exit status: 0 done, 1 errors (the lock could not be taken), 2 bad usage or configuration.
`,
  watch: `convoy watch [--config FILE] [--parse-templates] [--templates GLOB …] [--static-root DIR] [--quiet]

Builds once (as convoy build), then watches the source roots (and, with --parse-templates, the
template roots). A change rebuilds only what it touches, along the dependencies the manifest
records: an edited Sass partial rebuilds the files that load it and the bundles holding them.
Each rebuild is printed; failures are printed again after every change until fixed. Ctrl-C stops.
`,
  ...PUBLISH_HELP,
};

/** Output streams, replaceable for tests. */
export interface Io {
  out: (line: string) => void;
  err: NodeJS.WriteStream;
  cwd: string;
  env: Record<string, string | undefined>;
  /** Stops a long-running command (`watch`) besides SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

const defaultIo = (): Io => ({ out: (l) => process.stdout.write(`${l}\n`), err: process.stderr, cwd: process.cwd(), env: process.env });

/** Runs the CLI; resolves to the exit status. */
export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const [command = 'help', ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    io.out(HELP[rest[0] ?? 'main'] ?? HELP.main!);
    return 0;
  }
  if (command === 'publish' || command === 'prune') return runPublishCommand(command, rest, io);
  if (command !== 'build' && command !== 'clean' && command !== 'watch') {
    io.err.write(`convoy: unknown command "${command}"\n\n${HELP.main}`);
    return 2;
  }
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        config: { type: 'string' },
        'parse-templates': { type: 'boolean' },
        templates: { type: 'string', multiple: true },
        strict: { type: 'boolean' },
        force: { type: 'boolean' },
        jobs: { type: 'string' },
        'static-root': { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.err.write(`convoy ${command}: ${messageOf(err)}\n\n${HELP[command]}`);
    return 2;
  }
  if (values.help) {
    io.out(HELP[command]!);
    return 0;
  }
  let options: ConvoyOptions;
  try {
    const loaded = await loadConfigFile(io.cwd, values.config as string | undefined);
    options = { ...loaded.options, ...configFromEnv(io.env) };
    if (values['static-root']) options.staticRoot = values['static-root'] as string;
    if (values.jobs !== undefined && !/^\d+$/.test(values.jobs as string)) throw new ConvoyError('E_CONFIG', `--jobs expects a whole number, got ${String(values.jobs)}`);
  } catch (err) {
    io.err.write(`convoy: ${messageOf(err)}\n`);
    return 2;
  }
  const logger = { warn: (m: string) => !values.quiet && !io.err.isTTY && io.err.write(`warning: ${m}\n`), error: (m: string) => io.err.write(`error: ${m}\n`), info: () => {} };
  try {
    if (command === 'clean') {
      const { removed, leftovers } = cleanReport({ ...options, logger });
      for (const f of removed) io.out(`removed ${f}`);
      for (const f of leftovers) io.out(`removed leftover ${f}`);
      io.out(`removed ${removed.length} file(s)${leftovers.length ? ` and ${leftovers.length} leftover(s) of interrupted processes` : ''}`);
      return 0;
    }
    if (command === 'watch') {
      return await watchCommand({ ...options, logger }, { parseTemplates: !!values['parse-templates'], templates: values.templates as string[] | undefined, quiet: !!values.quiet }, io);
    }
    const report = await build({ ...options, logger }, {
      parseTemplates: !!values['parse-templates'],
      templates: values.templates as string[] | undefined,
      force: !!values.force,
      ...(values.jobs !== undefined ? { jobs: Number(values.jobs) } : {}),
      ...(io.err.isTTY && !values.quiet ? { onProgress: progressBar(io.err) } : {}),
    });
    const lines = summarize(report, !values.quiet);
    for (const l of values.quiet ? lines.filter((x) => !x.startsWith('wrote ')) : lines) io.out(l);
    if (report.errors.length) return 1;
    if (values.strict && report.warnings.length) {
      io.out(`--strict: ${report.warnings.length} warning(s) fail the build`);
      return 1;
    }
    return 0;
  } catch (err) {
    io.err.write(`convoy: ${err instanceof ConvoyError ? err.message : (err as Error).stack}\n`);
    return err instanceof ConvoyError && err.code === 'E_CONFIG' ? 2 : 1;
  }
}

import path from 'node:path';
import { messageOf } from '../errors.ts';
import { resolveConfig, type ConvoyOptions } from '../config.ts';
import { build } from '../build.ts';
import { createPipeline } from '../core/pipeline.ts';
import { describe, rebuildChanged, watchFiles } from '../watch.ts';
import { summarize } from './report.ts';
import type { Io } from './main.ts';

/** Flags of `convoy watch`. */
export interface WatchFlags {
  parseTemplates: boolean;
  templates?: string[];
  quiet: boolean;
}

const under = (file: string, dir: string) => file.startsWith(dir + path.sep);

/**
 * `convoy watch`: one build (as `convoy build`), then on every change rebuilds only what the
 * change touches along the manifest's dependency graph and prints it. Failures are printed again
 * after every change until a change fixes them. Runs until SIGINT/SIGTERM (or `io.signal`).
 */
export async function watchCommand(options: ConvoyOptions, flags: WatchFlags, io: Io): Promise<number> {
  const buildOpts = { parseTemplates: flags.parseTemplates, ...(flags.templates ? { templates: flags.templates } : {}) };
  const first = await build(options, buildOpts);
  for (const l of summarize(first, false)) if (!flags.quiet || !l.startsWith('wrote ')) io.out(l);
  // Failing entries by label, printed until fixed.
  const failing = new Map<string, string>();
  for (const f of first.files) if (f.status === 'failed') failing.set(f.rel, `error ${f.rel}: ${f.error}`);

  // The same production settings the build used: debug settings do not apply to watch either.
  const config = resolveConfig({ ...options, debug: false, strict: false, scssRebuild: false, coffeeRebuild: false });
  const pipeline = createPipeline(config);
  const name = (abs: string) => path.relative(config.root, abs).split(path.sep).join('/');

  const onBatch = async (changed: string[]) => {
    io.out(`changed ${changed.map(name).join(', ')}`);
    const templates = flags.parseTemplates ? changed.filter((f) => config.templates.some((t) => under(f, t))) : [];
    const sources = changed.filter((f) => !templates.includes(f));
    const started = performance.now();
    let lines = 0;
    if (sources.length) {
      const results = rebuildChanged(pipeline, sources, { groups: ['files', 'bundles'], plain: true, newSources: true });
      // Twins are compressed off this thread: the manifest names them once they are written.
      for (const message of await pipeline.flush()) pipeline.warn(message);
      pipeline.save();
      for (const r of results) {
        const fixed = r.error === undefined && failing.delete(r.label);
        // A touch that changes no content rebuilds nothing: say nothing, unless it ends a failure.
        if (r.unchanged && !fixed) continue;
        io.out(describe(r));
        lines++;
        if (r.error !== undefined) failing.set(r.label, describe(r));
        else if (fixed) io.out(`fixed ${r.label}`);
      }
    }
    if (templates.length) {
      // Every template is scanned again, not only the edited one: a layout's carpools resolve
      // with each child's blocks. The build is incremental, so only new tags cost anything.
      const rels = templates.map((f) => path.relative(config.templates.find((t) => under(f, t))!, f).split(path.sep).join('/'));
      const report = await build(options, buildOpts);
      pipeline.reload();
      const built = report.scan?.events.filter((e) => e.status === 'built').length ?? 0;
      io.out(`rescanned the templates after ${rels.join(', ')} changed: ${built} tag(s) prebuilt`);
      lines++;
      for (const key of [...failing.keys()]) if (key.startsWith('template ')) failing.delete(key);
      for (const l of summarize(report, false).filter((x) => /^(wrote|FAILED|not prebuilt|could not prebuild|error|warning)\b/.test(x))) io.out(l);
      for (const e of report.scan?.events.filter((x) => x.status === 'failed') ?? []) failing.set(`template ${e.template}:${e.line}`, `error ${e.template}:${e.line}: ${e.tag} ${e.detail}`);
      for (const p of report.scan?.problems.filter((x) => x.severity === 'error') ?? []) failing.set(`template ${p.template}:${p.line ?? 0}`, `error ${p.template}${p.line ? `:${p.line}` : ''}: ${p.message}`);
    }
    if (!lines) io.out('nothing depends on it: nothing rebuilt');
    else io.out(`done in ${Math.round(performance.now() - started)} ms`);
    if (failing.size) {
      io.out(`${failing.size} error(s) until fixed:`);
      for (const l of failing.values()) io.out(`  ${l}`);
    }
  };

  const watched = [...config.sources, ...(flags.parseTemplates ? config.templates : [])];
  const watcher = watchFiles(watched, [config.staticRoot], {
    onBatch,
    onError: (err) => io.err.write(`convoy watch: ${messageOf(err)}\n`),
  });
  await watcher.ready;
  io.out(`watching ${watched.map(name).join(', ')} (Ctrl-C to stop)`);
  if (failing.size) {
    io.out(`${failing.size} error(s) until fixed:`);
    for (const l of failing.values()) io.out(`  ${l}`);
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    if (io.signal?.aborted) return stop();
    io.signal?.addEventListener('abort', stop, { once: true });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await watcher.close();
  return 0;
}

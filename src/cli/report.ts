import type { BuildReport } from '../build.ts';

/** `1234` → `1.2 kB`. */
export function bytes(n: number | undefined): string {
  if (n === undefined) return '-';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

/** A progress bar for terminals, redrawn in place on one line of stderr. */
export function progressBar(stream: NodeJS.WriteStream): (done: number, total: number, label: string) => void {
  let last = 0;
  return (done, total, label) => {
    const now = Date.now();
    if (done !== total && now - last < 50) return;
    last = now;
    const width = 24;
    const filled = total ? Math.round((done / total) * width) : width;
    const line = `[${'='.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} ${label}`;
    stream.write(`\r\x1b[K${line.slice(0, (stream.columns || 80) - 1)}`);
    if (done === total) stream.write('\r\x1b[K');
  };
}

/** The lines printed after a build: what it wrote, what it could not prebuild, and totals. */
export function summarize(report: BuildReport, verbose: boolean): string[] {
  const lines: string[] = [];
  const built = report.files.filter((f) => f.status === 'built');
  const fresh = report.files.filter((f) => f.status === 'fresh');
  const failed = report.files.filter((f) => f.status === 'failed');
  for (const f of built) {
    if (verbose || built.length <= 200) {
      lines.push(`wrote ${f.output} (${bytes(f.sourceBytes)} → ${bytes(f.outputBytes)}${f.gzipBytes ? `, gzip ${bytes(f.gzipBytes)}` : ''}${f.brBytes ? `, br ${bytes(f.brBytes)}` : ''}) from ${f.rel}`);
    }
  }
  for (const b of report.bundles.filter((x) => x.built)) lines.push(`wrote ${b.path} (${bytes(b.size)}) = ${b.sources.join(' + ')}`);
  for (const f of failed) lines.push(`FAILED ${f.rel}: ${f.error}`);
  if (report.scan) {
    const ev = report.scan.events;
    // `require` checks are reported on their own lines below.
    const count = (status: string) => ev.filter((e) => e.tag !== 'require' && e.status === status).length;
    lines.push(
      `templates: ${report.scan.templates.length} scanned, ${count('built')} tag(s) prebuilt` +
        (count('failed') ? `, ${count('failed')} could not be prebuilt` : '') +
        (count('dynamic') ? `, ${count('dynamic')} left to render time` : ''),
    );
    for (const e of ev.filter((x) => x.status === 'dynamic')) lines.push(`not prebuilt: ${e.template}:${e.line}: ${e.detail}`);
    for (const e of ev.filter((x) => x.status === 'failed' && x.tag !== 'require')) lines.push(`could not prebuild: ${e.template}:${e.line}: ${e.detail.startsWith(e.tag) ? e.detail : `${e.tag} ${e.detail}`}`);
    for (const p of report.scan.problems) lines.push(`${p.severity}: ${p.template}${p.line ? `:${p.line}` : ''}: ${p.message}`);
    for (const e of ev.filter((x) => x.tag === 'require' && x.status === 'failed')) lines.push(`require not declared: ${e.template}:${e.line}: ${e.detail}`);
    for (const u of report.scan.unrequired ?? []) lines.push(`info: required by no template: ${u.asset} (bundle ${u.bundles.join(', ')})`);
  }
  const sum = (k: 'sourceBytes' | 'outputBytes' | 'gzipBytes' | 'brBytes', list = report.files) => list.reduce((n, f) => n + (f[k] ?? 0), 0);
  const textual = report.files.filter((f) => f.output && /\.(css|js)$/.test(f.output));
  lines.push(
    `files: ${report.files.length} (${built.length} built, ${fresh.length} unchanged, ${failed.length} failed); bundles: ${report.bundles.length}` +
      (built.length === 0 && !report.manifestWritten ? ' — nothing changed, nothing rewritten' : ''),
  );
  lines.push(`css/js bytes: ${bytes(sum('sourceBytes', textual))} source → ${bytes(sum('outputBytes', textual))} minified → ${bytes(sum('gzipBytes', textual))} gzip / ${bytes(sum('brBytes', textual))} brotli`);
  lines.push(`time: ${(report.milliseconds / 1000).toFixed(2)} s on ${report.jobs} thread(s); warnings: ${report.warnings.length}; errors: ${report.errors.length}`);
  return lines;
}

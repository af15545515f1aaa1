import { parseArgs } from 'node:util';
import { ConvoyError, messageOf } from '../errors.ts';
import { configFromEnv, type ConvoyOptions } from '../config.ts';
import { publish } from '../publish/publish.ts';
import { prune } from '../publish/prune.ts';
import { mergePublish } from '../publish/settings.ts';
import { loadConfigFile } from './config-file.ts';
import { bytes, progressBar } from './report.ts';
import type { Io } from './main.ts';

/** Help texts of `convoy publish` and `convoy prune`. */
export const PUBLISH_HELP = {
  publish: `convoy publish [--config FILE] [--dry-run] [--concurrency N] [--quiet]

Uploads every file the manifest names (outputs, twins, maps, plain copies) to publish.bucket
under publish.prefix: objects first, then the release record (the manifest, keyed by its own
hash), then the inventory. Objects the inventory lists are not uploaded again; nothing is
deleted and the bucket is never listed. Run it after \`convoy build\`, before releasing the app.

  --config FILE        read options from FILE instead of ./convoy.config.{mjs,js,json}
  --dry-run            read the inventory and print what would be uploaded; write nothing
  --concurrency N      uploads in flight (default publish.concurrency, 8)
  --quiet              print only problems and the summary

Settings: publish { bucket, prefix, region, endpoint, forcePathStyle, headers, keep, concurrency },
or CONVOY_S3_BUCKET, CONVOY_S3_PREFIX, CONVOY_S3_REGION, CONVOY_S3_ENDPOINT, CONVOY_AWS_HEADERS (JSON).
Credentials: the AWS SDK's default chain (AWS_ACCESS_KEY_ID …, profiles, roles).
Exit status: 0 done, 1 the bucket or a file failed (run again to complete), 2 bad usage or configuration.
`,
  prune: `convoy prune [--config FILE] [--keep N] [--dry-run] [--quiet]

Deletes objects convoy uploaded that none of the last N releases names (every file its manifest
lists), and the records of older releases. Objects convoy did not upload are never touched.

  --config FILE        read options from FILE instead of ./convoy.config.{mjs,js,json}
  --keep N             releases to keep (default publish.keep, 3)
  --dry-run            print what would be deleted; delete nothing
  --quiet              print only problems and the summary

Exit status: 0 done, 1 the bucket failed, 2 bad usage or configuration.
`,
};

const count = (flag: string, raw: unknown): number | undefined => {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < 1) throw new ConvoyError('E_CONFIG', `${flag} expects a whole number ≥ 1, got ${String(raw)}`);
  return Number(raw);
};

/** Runs `convoy publish` or `convoy prune`; resolves to the exit status. */
export async function runPublishCommand(command: 'publish' | 'prune', args: string[], io: Io): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let options: ConvoyOptions;
  let concurrency: number | undefined;
  let keep: number | undefined;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: 'string' },
        'dry-run': { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        ...(command === 'publish' ? { concurrency: { type: 'string' as const } } : { keep: { type: 'string' as const } }),
      },
      strict: true,
      allowPositionals: false,
    }) as { values: typeof values });
  } catch (err) {
    io.err.write(`convoy ${command}: ${messageOf(err)}\n\n${PUBLISH_HELP[command]}`);
    return 2;
  }
  if (values.help) {
    io.out(PUBLISH_HELP[command]);
    return 0;
  }
  try {
    concurrency = count('--concurrency', values.concurrency);
    keep = count('--keep', values.keep);
    const loaded = await loadConfigFile(io.cwd, values.config as string | undefined);
    const fromEnv = configFromEnv(io.env);
    // Field by field: a bucket from the config file survives a prefix from the environment.
    const merged = mergePublish(loaded.options.publish, fromEnv.publish);
    options = { ...loaded.options, ...fromEnv, ...(merged ? { publish: merged } : {}) };
  } catch (err) {
    io.err.write(`convoy: ${messageOf(err)}\n`);
    return 2;
  }
  // The pinned SDK warns on Node 20 about its future releases; that says nothing about this one.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const quiet = !!values.quiet;
  const dryRun = !!values['dry-run'];
  const recovered = (where: string) => io.err.write(`convoy: warning: the inventory in ${where} was damaged or missing; restored from its journal${dryRun ? '' : ' and written again'}\n`);
  try {
    if (command === 'publish') {
      const r = await publish(options, {
        dryRun,
        ...(concurrency ? { concurrency } : {}),
        ...(io.err.isTTY && !quiet ? { onProgress: progressBar(io.err) } : {}),
      });
      const where = `s3://${r.bucket}/${r.prefix}`;
      if (r.inventoryRecovered) recovered(where);
      if (r.nothingNew) {
        io.out(`nothing new: release ${r.release} is already the latest in ${where}; ${r.skipped} object(s) skipped, none written`);
        return 0;
      }
      if (!quiet) for (const u of r.uploaded) io.out(`${dryRun ? 'would upload' : 'uploaded'} ${u.key} (${bytes(u.bytes)})`);
      io.out(
        `${dryRun ? 'dry run: would publish' : 'published'} release ${r.release} to ${where}: ` +
          `${r.uploaded.length} object(s) ${dryRun ? 'to upload' : 'uploaded'} (${bytes(r.bytes)}), ${r.skipped} skipped (already there)` +
          (dryRun ? '' : `; record ${r.recordWritten ? 'written' : 'already there'}, inventory written`) +
          `; ${(r.milliseconds / 1000).toFixed(2)} s`,
      );
      return 0;
    }
    const r = await prune(options, { dryRun, ...(keep ? { keep } : {}) });
    if (r.inventoryRecovered) recovered(`s3://${r.bucket}`);
    if (!quiet) for (const k of r.deleted) io.out(`${dryRun ? 'would delete' : 'deleted'} ${k}`);
    io.out(
      `${dryRun ? 'dry run: ' : ''}kept ${r.kept.length} release(s) (${r.kept.map((x) => x.hash).join(', ') || 'none'}; ${r.keptObjects} object(s)), ` +
        `${dryRun ? 'would drop' : 'dropped'} ${r.dropped.length}; ${r.deleted.length} object(s) ${dryRun ? 'would be deleted' : 'deleted'} from s3://${r.bucket}`,
    );
    return 0;
  } catch (err) {
    io.err.write(`convoy ${command}: ${err instanceof ConvoyError ? err.message : (err as Error).stack}\n`);
    return err instanceof ConvoyError && (err.code === 'E_CONFIG' || err.code === 'E_DEPENDENCY') ? 2 : 1;
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import S3rver from 's3rver';
import { build } from '../../src/build.ts';
import type { ConvoyOptions } from '../../src/config.ts';
import { REPO, memoryLogger, siteCopy, tmpDir } from '../helpers.ts';
import { request, type RawResponse } from '../adapters/http.ts';

/** A request s3rver received: method, bucket-relative path and query. */
export interface SeenRequest {
  method: string;
  url: string;
}

/** A real S3-protocol server on 127.0.0.1 (s3rver), with the requests it received. */
export interface S3Server {
  port: number;
  endpoint: string;
  requests: SeenRequest[];
  /** Requests received after `mark` (an index into `requests`). */
  since(mark: number): SeenRequest[];
  /** GETs an object anonymously over plain HTTP, as a CDN or a browser would. */
  get(bucket: string, key: string, headers?: Record<string, string>): Promise<RawResponse>;
  /** Calls `fn` as each request arrives (before s3rver handles it); returns the unsubscribe. */
  onRequest(fn: (r: SeenRequest) => void): () => void;
  /** Every key stored in a bucket, read from s3rver's folder (no S3 request). */
  keys(bucket: string): string[];
  close(): Promise<void>;
}

// The SDK's default credential chain reads these; s3rver accepts this pair.
export const S3_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
// In this process only (the SDK's notice about its future releases); the CLI silences it itself.
Object.assign(process.env, S3_ENV, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });

/** Starts s3rver on a random port in a temporary folder, with these buckets (names ≥ 3 characters). */
export async function startS3(buckets: string[]): Promise<S3Server> {
  const directory = tmpDir('convoy-s3-');
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: buckets.map((name) => ({ name })) });
  const { port } = await server.run();
  const requests: SeenRequest[] = [];
  server.httpServer.prependListener('request', (req) => requests.push({ method: req.method ?? '', url: req.url ?? '' }));
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    since: (mark) => requests.slice(mark),
    onRequest: (fn) => {
      const listener = (req: { method?: string; url?: string }) => fn({ method: req.method ?? '', url: req.url ?? '' });
      server.httpServer.prependListener('request', listener);
      return () => void server.httpServer.off('request', listener);
    },
    get: (bucket, key, headers = {}) => request(port, `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`, headers),
    keys: (bucket) => {
      const root = path.join(directory, bucket);
      if (!fs.existsSync(root)) return [];
      return (fs.readdirSync(root, { recursive: true }) as string[])
        .filter((f) => f.endsWith('._S3rver_object'))
        .map((f) => f.split(path.sep).join('/').slice(0, -'._S3rver_object'.length))
        .sort();
    },
    close: async () => {
      server.httpServer.closeAllConnections();
      await server.close();
    },
  };
}

/** Whether a request lists a bucket (GET on the bucket itself, ListObjects/ListObjectsV2). */
export const isListing = (r: SeenRequest, bucket: string) => r.method === 'GET' && (/^\/[^/?]+\/?(\?|$)/.test(r.url) || /[?&]list-type=/.test(r.url)) && r.url.startsWith(`/${bucket}`);

/** Whether a request writes or deletes. */
export const isWrite = (r: SeenRequest) => r.method === 'PUT' || r.method === 'POST' || r.method === 'DELETE';

/** The object key a path-style request names (query dropped, decoded). */
export const keyOf = (r: SeenRequest, bucket: string) => decodeURIComponent(r.url.split('?')[0]!.slice(bucket.length + 2));

/** A CLI run as a child process (asynchronous: s3rver answers from this process meanwhile). */
export interface CliRun {
  child: ChildProcess;
  done: Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Starts `convoy …` as a user would, without a terminal. */
export function convoyAsync(cwd: string, args: string[], env: Record<string, string> = {}, entry = path.join(REPO, 'src/cli/run.ts')): CliRun {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), entry, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...S3_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Runs `convoy …` to the end. */
export const convoy = (cwd: string, args: string[], env: Record<string, string> = {}, entry?: string) => convoyAsync(cwd, args, env, entry).done;

/** Every name a manifest lists for its processed files and bundles (outputs, twins, maps, plain copies). */
export function manifestNames(staticRoot: string): string[] {
  type E = { path: string; variants: { gz?: string; br?: string }; map?: string; plain?: string; plainFiles?: string[] };
  const m = JSON.parse(fs.readFileSync(path.join(staticRoot, 'convoy-manifest.json'), 'utf8')) as { files: Record<string, E>; bundles: Record<string, E> };
  const names = new Set<string>();
  for (const e of [...Object.values(m.files), ...Object.values(m.bundles)]) {
    for (const n of [e.path, e.variants.gz, e.variants.br, e.map, e.plain, ...(e.plainFiles ?? [])]) if (n) names.add(n);
  }
  return [...names].sort();
}

/** The example site copied and built (source maps on), with a config naming the bucket. */
export async function builtSite(publish: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
  const dir = siteCopy();
  const config = { sources: ['static', 'vendor'], staticRoot: 'public/static', templates: ['templates'], sourceMaps: true, publish, ...extra };
  fs.writeFileSync(path.join(dir, 'convoy.config.json'), JSON.stringify(config, null, 2));
  await rebuild(dir);
  return dir;
}

/** Builds a site made by builtSite again (after an edit), as `convoy build --parse-templates` would. */
export async function rebuild(dir: string): Promise<void> {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'convoy.config.json'), 'utf8')) as ConvoyOptions;
  const report = await build({ ...config, root: dir, logger: memoryLogger() }, { parseTemplates: true, jobs: 1 });
  if (report.errors.length) throw new Error(report.errors.join('\n'));
}

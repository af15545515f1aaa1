import { ConvoyError } from '../errors.ts';

/** Where and how `convoy publish` uploads and `convoy prune` deletes (DESIGN §5). */
export interface PublishOptions {
  /** The bucket (S3 or any S3-compatible service). */
  bucket?: string;
  /** Key prefix of every object; `staticUrl` is the CDN origin plus this prefix. */
  prefix?: string;
  /** The bucket's region (default: the SDK's chain, else us-east-1 with a custom endpoint). */
  region?: string;
  /** An S3-compatible endpoint (MinIO, R2, s3rver …) instead of AWS. */
  endpoint?: string;
  /** `https://host/bucket/key` URLs instead of `https://bucket.host/key` (default: on with `endpoint`). */
  forcePathStyle?: boolean;
  /** HTTP headers set on every object, merged last (the seed's CONVOY_AWS_HEADERS). */
  headers?: Record<string, string>;
  /** How many releases `convoy prune` keeps. */
  keep?: number;
  /** Uploads in flight at once. */
  concurrency?: number;
}

/** Publish settings with defaults applied and the prefix normalised (`''` or ending in `/`). */
export interface PublishSettings {
  bucket: string;
  prefix: string;
  region: string | undefined;
  endpoint: string | undefined;
  forcePathStyle: boolean;
  headers: Record<string, string>;
  keep: number;
  concurrency: number;
}

const FIELDS: Record<keyof PublishOptions, 'string' | 'boolean' | 'count' | 'headers'> = {
  bucket: 'string',
  prefix: 'string',
  region: 'string',
  endpoint: 'string',
  forcePathStyle: 'boolean',
  headers: 'headers',
  keep: 'count',
  concurrency: 'count',
};

function bad(field: string, expected: string, got: unknown): never {
  throw new ConvoyError('E_CONFIG', `option "${field}" expects ${expected}, got ${JSON.stringify(got) ?? String(got)}`);
}

/** Rejects unknown fields and wrong types of the `publish` option, naming the field. */
export function checkPublishOptions(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad('publish', 'an object like { bucket, prefix, region }', value);
  for (const [key, v] of Object.entries(value)) {
    const kind = (FIELDS as Record<string, string | undefined>)[key];
    const name = `publish.${key}`;
    if (!kind) throw new ConvoyError('E_CONFIG', `unknown option "${name}" (known: ${Object.keys(FIELDS).join(', ')})`);
    if (v === undefined) continue;
    if (kind === 'string' && typeof v !== 'string') bad(name, 'a string', v);
    if (kind === 'boolean' && typeof v !== 'boolean') bad(name, 'true or false', v);
    if (kind === 'count' && !(Number.isInteger(v) && (v as number) >= 1)) bad(name, 'a whole number ≥ 1', v);
    if (kind === 'headers' && (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.values(v).every((h) => typeof h === 'string'))) {
      bad(name, 'an object of header names to string values', v);
    }
  }
}

/** The `publish` option from CONVOY_S3_* and CONVOY_AWS_HEADERS (JSON); undefined when none is set. */
export function publishFromEnv(env: Record<string, string | undefined>): PublishOptions | undefined {
  const out: PublishOptions = {};
  const names = { bucket: 'CONVOY_S3_BUCKET', prefix: 'CONVOY_S3_PREFIX', endpoint: 'CONVOY_S3_ENDPOINT', region: 'CONVOY_S3_REGION' } as const;
  for (const [field, name] of Object.entries(names) as [keyof typeof names, string][]) {
    const raw = env[name];
    if (raw !== undefined && raw.trim() !== '') out[field] = raw.trim();
  }
  const headers = env.CONVOY_AWS_HEADERS;
  if (headers !== undefined && headers.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(headers);
    } catch (cause) {
      throw new ConvoyError('E_CONFIG', `CONVOY_AWS_HEADERS must be a JSON object of headers: ${(cause as Error).message}`, { cause });
    }
    checkPublishOptions({ headers: parsed });
    out.headers = parsed as Record<string, string>;
  }
  return Object.keys(out).length ? out : undefined;
}

/** Later layers win field by field (a config file's bucket survives an env prefix). */
export function mergePublish(...layers: (PublishOptions | undefined)[]): PublishOptions | undefined {
  const present = layers.filter((l): l is PublishOptions => !!l);
  return present.length ? Object.assign({}, ...present) : undefined;
}

/** Applies defaults; a missing bucket is a configuration error naming where to set it. */
export function publishSettings(options: PublishOptions | undefined): PublishSettings {
  const o = options ?? {};
  checkPublishOptions(o);
  if (!o.bucket) throw new ConvoyError('E_CONFIG', 'no bucket to publish to: set publish.bucket in the config or CONVOY_S3_BUCKET');
  let prefix = (o.prefix ?? '').replace(/^\/+/, '');
  if (prefix && !prefix.endsWith('/')) prefix += '/';
  return {
    bucket: o.bucket,
    prefix,
    region: o.region,
    endpoint: o.endpoint,
    forcePathStyle: o.forcePathStyle ?? !!o.endpoint,
    headers: o.headers ?? {},
    keep: o.keep ?? 3,
    concurrency: o.concurrency ?? 8,
  };
}

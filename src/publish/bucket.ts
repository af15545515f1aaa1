import type { PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { ConvoyError, messageOf } from '../errors.ts';
import type { PublishSettings } from './settings.ts';

type S3Module = typeof import('@aws-sdk/client-s3');

/** The optional peer dependency publish and prune run on. */
export const S3_PACKAGE = '@aws-sdk/client-s3';

/** Loads the SDK only when publishing, so the rest of the library never needs it. */
export async function loadS3(): Promise<S3Module> {
  try {
    return await import('@aws-sdk/client-s3');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new ConvoyError('E_DEPENDENCY', `convoy publish and prune need the optional package ${S3_PACKAGE}, which could not be loaded (${messageOf(cause)}); install it: npm install --save-dev ${S3_PACKAGE}@3.1169.0`, { cause });
    }
    throw cause;
  }
}

// Headers PutObject takes as parameters; any other header is set on the request as it is.
const PARAMS: Record<string, 'ContentType' | 'CacheControl' | 'ContentEncoding' | 'ContentDisposition' | 'ContentLanguage'> = {
  'content-type': 'ContentType',
  'cache-control': 'CacheControl',
  'content-encoding': 'ContentEncoding',
  'content-disposition': 'ContentDisposition',
  'content-language': 'ContentLanguage',
};

/** The one storage driver publish and prune use: get, put and delete objects by key, never list. */
export class Bucket {
  private constructor(
    private readonly s3: S3Module,
    private readonly client: S3Client,
    /** The bucket's name. */
    readonly name: string,
  ) {}

  /** A client for the configured bucket; credentials come from the SDK's default chain. */
  static async open(settings: PublishSettings): Promise<Bucket> {
    const s3 = await loadS3();
    const region = settings.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? (settings.endpoint ? 'us-east-1' : undefined);
    const client = new s3.S3Client({
      ...(region ? { region } : {}),
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      forcePathStyle: settings.forcePathStyle,
    });
    return new Bucket(s3, client, settings.bucket);
  }

  private fail(op: string, key: string, cause: unknown): never {
    const status = (cause as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    // AWS hides whether a key exists from callers that may not list the bucket.
    const hint = op === 'GET' && status === 403 ? ' (AWS answers 403 for a missing key unless the credentials have s3:ListBucket on the bucket)' : '';
    throw new ConvoyError('E_PUBLISH', `${op} failed${status ? ` (HTTP ${status})` : ''}: ${(cause as Error).name}: ${messageOf(cause)}${hint}`, { file: `s3://${this.name}/${key}`, cause });
  }

  /** The object's bytes, or undefined when there is none. */
  async get(key: string): Promise<Buffer | undefined> {
    try {
      const res = await this.client.send(new this.s3.GetObjectCommand({ Bucket: this.name, Key: key }));
      return res.Body ? Buffer.from(await res.Body.transformToByteArray()) : Buffer.alloc(0);
    } catch (cause) {
      const name = (cause as Error).name;
      if (name === 'NoSuchKey' || name === 'NotFound') return undefined;
      return this.fail('GET', key, cause);
    }
  }

  /** Writes an object with these HTTP headers. The body is a Buffer: some services drop headers of streamed bodies. */
  async put(key: string, body: Buffer, headers: Record<string, string>): Promise<void> {
    const params: PutObjectCommandInput = { Bucket: this.name, Key: key, Body: body };
    const raw: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      const lower = name.toLowerCase();
      const param = PARAMS[lower];
      if (param) params[param] = value;
      else if (lower.startsWith('x-amz-meta-')) (params.Metadata ??= {})[lower.slice('x-amz-meta-'.length)] = value;
      else raw[lower] = value;
    }
    const command = new this.s3.PutObjectCommand(params);
    if (Object.keys(raw).length) {
      // Added before signing, so the headers are signed like the ones the SDK sets.
      command.middlewareStack.add(
        (next) => async (args) => {
          const request = args.request as { headers?: Record<string, string> };
          if (request.headers) Object.assign(request.headers, raw);
          return next(args);
        },
        { step: 'build', name: 'convoyPublishHeaders' },
      );
    }
    try {
      await this.client.send(command);
    } catch (cause) {
      this.fail('PUT', key, cause);
    }
  }

  /** Deletes objects (1,000 a request): the keys deleted and those refused, with why. */
  async delete(keys: string[]): Promise<{ deleted: string[]; failed: { key: string; message: string }[] }> {
    const deleted: string[] = [];
    const failed: { key: string; message: string }[] = [];
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      try {
        const res = await this.client.send(new this.s3.DeleteObjectsCommand({ Bucket: this.name, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: false } }));
        for (const d of res.Deleted ?? []) if (d.Key) deleted.push(d.Key);
        for (const e of res.Errors ?? []) failed.push({ key: e.Key ?? '?', message: `${e.Code ?? 'Error'} ${e.Message ?? ''}`.trim() });
      } catch (cause) {
        for (const key of batch) failed.push({ key, message: `${(cause as Error).name}: ${messageOf(cause)}` });
      }
    }
    return { deleted, failed };
  }

  /** Closes the client's sockets. */
  close(): void {
    this.client.destroy();
  }
}

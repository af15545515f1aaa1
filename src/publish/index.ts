// S3-compatible publishing (DESIGN §5): the SDK is loaded only when one of these runs.
export { publish, type PublishReport, type PublishRunOptions, type UploadedObject } from './publish.ts';
export { prune, type PruneReport, type PruneRunOptions } from './prune.ts';
export type { ReleaseRef } from './inventory.ts';
export type { PublishOptions } from './settings.ts';

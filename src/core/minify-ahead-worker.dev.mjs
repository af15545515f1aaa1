// Worker entry when running from TypeScript sources (tests, demo, bench): register tsx, then load
// the real worker. The published package uses dist/core/minify-ahead-worker.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./minify-ahead-worker.ts');

// Worker entry when running from TypeScript sources (tests, demo, bench): register tsx, then load
// the real worker. The published package uses dist/build-worker.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./build-worker.ts');

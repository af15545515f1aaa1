// A manifest writer for the lock test: `node --import tsx manifest-writer.ts <manifest> <root> <name> <count>`
// saves <count> times, each time adding one bundle entry of its own, as app servers do.
import { Manifest } from '../../src/core/manifest.ts';

const [file, root, name, count] = process.argv.slice(2) as [string, string, string, string];
const manifest = new Manifest(file, root);
for (let i = 0; i < Number(count); i++) {
  const key = `js:${name}-${i}.js`;
  manifest.data.bundles[key] = { kind: 'js', sources: [`${name}-${i}.js`], inputs: {}, path: 'shared.js', hash: '000000000000', integrity: '', size: 1, variants: {} };
  manifest.save();
}

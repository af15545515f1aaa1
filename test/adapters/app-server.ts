// An app server for the multi-process tests: `node --import tsx app-server.ts <project>` starts an
// Express app with convoyExpress on 127.0.0.1 and prints its port. GET /page?js=a,b,c renders a
// carpool whose body comes from the request (so it is bundled during the request).
import express from 'express';
import { convoyExpress } from '../../src/adapters/express.ts';
import type { AddressInfo } from 'node:net';

const root = process.argv[2]!;
const app = express();
convoyExpress(app, {
  root,
  sources: ['static', 'vendor'],
  staticRoot: 'public/static',
  templates: ['templates'],
  logger: { warn: (m) => process.stderr.write(`warn: ${m}\n`), error: (m) => process.stderr.write(`error: ${m}\n`), info: () => {} },
});
app.get('/page', (req, res) => res.render('dynamic.njk', { files: String(req.query.js ?? '').split(',').filter(Boolean) }));
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
// Ends on SIGTERM from the test: the library saves what requests built before the process goes.

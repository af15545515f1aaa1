import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import nunjucks from 'nunjucks';
import { convoyExpress } from '../../src/adapters/express.ts';
import { install } from '../../src/install.ts';
import { memoryLogger, siteCopy, tmpDir, write } from '../helpers.ts';
import { listen, request } from './http.ts';

/** An open event stream: its response headers, and the events received so far. */
function events(port: number, urlPath: string) {
  const got: { event: string; data: unknown }[] = [];
  let buffer = '';
  let req: http.ClientRequest;
  const opened = new Promise<http.IncomingMessage>((resolve, reject) => {
    req = http.get({ host: '127.0.0.1', port, path: urlPath, headers: { Accept: 'text/event-stream' } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) got.push({ event, data: JSON.parse(data) });
        }
      });
      resolve(res);
    });
    req.on('error', reject);
  });
  return {
    opened,
    got,
    /** The first event named `name` after index `from`, waited for at most `ms`. */
    async next(name: string, from: number, ms = 20_000): Promise<{ event: string; data: any }> {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const hit = got.slice(from).find((e) => e.event === name);
        if (hit) return hit as { event: string; data: any };
        await new Promise((r) => setTimeout(r, 30));
      }
      throw new Error(`no "${name}" event; got ${JSON.stringify(got.slice(from))}`);
    },
    close: () => req.destroy(),
  };
}

async function debugSite(extra: Record<string, unknown> = {}) {
  const dir = siteCopy();
  const app = express();
  const setup = convoyExpress(app, { root: dir, sources: ['static', 'vendor'], staticRoot: 'public/static', templates: ['templates'], debug: true, logger: memoryLogger(), ...extra });
  app.get('/:page', (req, res) => res.render(`pages/${req.params.page}.njk`, { siteName: 'Live' }));
  const server = await listen(app);
  await setup.ready;
  return { dir, setup, server, close: async () => (await setup.close(), await server.close()) };
}

test('debug: the event stream answers at once; a partial edit swaps the stylesheet, a template edit reloads, a Sass error is reported with file and line until fixed', async (t) => {
  const site = await debugSite();
  t.after(site.close);
  const page = await request(site.server.port, '/index');
  const href = /<link rel="stylesheet" href="(\/static\/css\/site\.[0-9a-f]{12}\.css)">/.exec(page.body.toString())?.[1];
  assert.ok(href, page.body.toString());

  const stream = events(site.server.port, '/static/__convoy/events');
  t.after(stream.close);
  // Headers arrive before any change happens (flushed at once), and a hello carries the state.
  const res = await stream.opened;
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
  assert.match(String(res.headers['cache-control']), /no-cache/);
  const hello = await stream.next('hello', 0);
  assert.equal(hello.data.error, '');

  const colors = path.join(site.dir, 'static/css/partials/_colors.scss');
  let from = stream.got.length;
  fs.writeFileSync(colors, '$brand: #ff0000;\n$accent: #f72585;\n');
  const css = await stream.next('css', from);
  const swap = css.data.swaps.find((s: { from: string[] }) => s.from.includes(href))!;
  assert.ok(swap, JSON.stringify(css.data));
  assert.match(swap.to, /^\/static\/css\/site\.[0-9a-f]{12}\.css$/);
  assert.notEqual(swap.to, href);
  assert.match(new RegExp(swap.pattern).source, /site/);
  assert.ok(new RegExp(swap.pattern).test('/static/css/site.error.0123456789ab.css'));
  const served = await request(site.server.port, swap.to);
  assert.match(served.body.toString(), /color: #ff0000/);
  assert.ok(!stream.got.slice(from).some((e) => e.event === 'reload'), 'a stylesheet change does not reload');

  from = stream.got.length;
  fs.writeFileSync(colors, '$brand: #ff0000\n$accent: #f72585;\n');
  const broken = await stream.next('status', from);
  assert.match(broken.data.error, /static\/css\/partials\/_colors\.scss:\d+:\d+: Sass error/);
  // A page opened now hears about the error at once.
  const late = events(site.server.port, '/static/__convoy/events');
  t.after(late.close);
  assert.match((await late.next('hello', 0)).data.error, /_colors\.scss:\d+/);

  from = stream.got.length;
  fs.writeFileSync(colors, '$brand: #00ff00;\n$accent: #f72585;\n');
  assert.equal((await stream.next('status', from)).data.error, '');
  const fixed = await stream.next('css', from);
  assert.ok(fixed.data.swaps.some((s: { from: string[]; to: string }) => s.from.includes(swap.to)), JSON.stringify(fixed.data));

  from = stream.got.length;
  const index = path.join(site.dir, 'templates/pages/index.njk');
  fs.writeFileSync(index, fs.readFileSync(index, 'utf8').replace('<p id="greeting">', '<p id="edited">Edited</p><p id="greeting">'));
  assert.match((await stream.next('reload', from)).data.reason, /index\.njk/);
  // Template caching is off in debug: the reload shows the edit.
  assert.match((await request(site.server.port, '/index')).body.toString(), /<p id="edited">Edited<\/p>/);

  from = stream.got.length;
  fs.writeFileSync(path.join(site.dir, 'static/js/util.js'), `${fs.readFileSync(path.join(site.dir, 'static/js/util.js'), 'utf8')}\n// edited\n`);
  assert.match((await stream.next('reload', from)).data.reason, /js\/util\.js/);
});

test('production: no event stream, no watcher; the convoy_reload tag prints nothing', async (t) => {
  const dir = siteCopy();
  const app = express();
  const setup = convoyExpress(app, { root: dir, sources: ['static', 'vendor'], staticRoot: 'public/static', templates: ['templates'], logger: memoryLogger(), injectReloadClient: true });
  const server = await listen(app);
  t.after(async () => (await setup.close(), await server.close()));
  assert.equal((await request(server.port, '/static/__convoy/events')).status, 404);

  const env = new nunjucks.Environment();
  install(env, { root: dir, staticRoot: tmpDir(), logger: memoryLogger() });
  assert.equal(env.renderString('<head>{% convoy_reload %}</head>', {}), '<head></head>');
});

test('the convoy_reload tag prints the client in debug (any delimiters); injectReloadClient puts it on pages with no tag, once', async (t) => {
  const env = new nunjucks.Environment(null, { tags: { blockStart: '<%', blockEnd: '%>' } });
  install(env, { root: tmpDir(), debug: true, staticUrl: '/assets/', logger: memoryLogger() });
  const html = env.renderString('<head><% convoy_reload %></head>', {});
  assert.match(html, /^<head><script data-convoy-reload>\(function\(url\)\{[\s\S]*\}\)\("\/assets\/__convoy\/events"\);<\/script><\/head>$/);

  const site = await debugSite({ injectReloadClient: true, watch: false });
  t.after(site.close);
  const page = (await request(site.server.port, '/index')).body.toString();
  assert.equal(page.split('data-convoy-reload').length, 2, page);
  assert.match(page, /<script data-convoy-reload>[\s\S]*<\/script><\/body>/);
  // A page that has the tag already gets no second client.
  write(path.join(site.dir, 'templates/pages/tagged.njk'), '<html><body>{% convoy_reload %}</body></html>');
  const tagged = (await request(site.server.port, '/tagged')).body.toString();
  assert.equal(tagged.split('data-convoy-reload').length, 2, tagged);
  // A fragment is not a page: untouched.
  write(path.join(site.dir, 'templates/pages/fragment.njk'), '<p>fragment</p>');
  assert.equal((await request(site.server.port, '/fragment')).body.toString(), '<p>fragment</p>');
  // The stylesheet is an asset, not a page: untouched.
  const css = (await request(site.server.port, '/static/css/layout.css')).body.toString();
  assert.doesNotMatch(css, /convoy-reload/);
});

test('debug carpools swap by source: combined bundles get their new fingerprinted URL, individual plain files a fresh URL of their own', async (t) => {
  const combined = await debugSite({ carpoolCombineDuringDebug: true });
  t.after(combined.close);
  const page = (await request(combined.server.port, '/index')).body.toString();
  const bundle = /<link rel="stylesheet" href="(\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css)" >/.exec(page)?.[1];
  assert.ok(bundle, page);
  const stream = events(combined.server.port, '/static/__convoy/events');
  t.after(stream.close);
  await stream.next('hello', 0);
  const layout = path.join(combined.dir, 'static/css/layout.css');
  fs.writeFileSync(layout, `${fs.readFileSync(layout, 'utf8')}\n.added-by-test { color: #0a0b0c; }\n`);
  const css = await stream.next('css', 0, 60_000);
  const swap = css.data.swaps.find((s: { from: string[] }) => s.from.includes(bundle));
  assert.ok(swap, JSON.stringify(css.data));
  assert.match(swap.to, /^\/static\/CARPOOL\/css\/[0-9a-f]{12}\.cmin\.css$/);
  assert.notEqual(swap.to, bundle);
  assert.match((await request(combined.server.port, swap.to)).body.toString(), /\.added-by-test\{color:#0a0b0c\}/);

  const single = await debugSite();
  t.after(single.close);
  assert.match((await request(single.server.port, '/index')).body.toString(), /<link rel="stylesheet" href="\/static\/css\/layout\.css" >/);
  const plain = events(single.server.port, '/static/__convoy/events');
  t.after(plain.close);
  await plain.next('hello', 0);
  fs.writeFileSync(path.join(single.dir, 'static/css/layout.css'), '.changed { color: #010203; }\n');
  const own = await plain.next('css', 0);
  assert.deepEqual(own.data.swaps.map((s: { from: string[] }) => s.from), [['/static/css/layout.css']]);
  assert.match(own.data.swaps[0].to, /^\/static\/css\/layout\.css\?v=[0-9a-f]{12}$/);
  assert.ok(!plain.got.some((e) => e.event === 'reload'));
});

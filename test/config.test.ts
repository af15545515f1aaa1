import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { configFromEnv, resolveConfig, ConvoyError } from '../src/index.ts';

test('defaults follow DESIGN §3 and resolve paths from root', () => {
  const c = resolveConfig({ root: '/srv/app' });
  assert.deepEqual(c.sources, ['/srv/app/static']);
  assert.equal(c.staticRoot, '/srv/app/public/static');
  assert.equal(c.staticUrl, '/static/');
  assert.equal(c.manifest, '/srv/app/public/static/convoy-manifest.json');
  assert.equal(c.debug, false);
  assert.equal(c.scssRebuild, false);
  assert.equal(c.carpoolPathFragment, 'CARPOOL');
  assert.equal(c.carpoolCssTemplate, '<link rel="stylesheet" href="%s" >\n');
  assert.equal(c.carpoolJsTemplate, '<script type="text/javascript" src="%s" ></script>\n');
  assert.equal(c.carpoolStartComment, '\n<!-- %s -->\n');
  assert.deepEqual(c.compress, ['gzip', 'br']);
  assert.deepEqual(c.engines, { js: 'terser', css: 'clean-css', sass: 'sass' });
  // Rebuild and source maps follow debug unless set.
  const d = resolveConfig({ root: '/srv/app', debug: true });
  assert.equal(d.scssRebuild, true);
  assert.equal(d.coffeeRebuild, true);
  assert.equal(d.sourceMaps, true);
});

test('unknown options and wrong types are errors naming the option', () => {
  assert.throws(() => resolveConfig({ staticRot: 'x' } as never), (e: unknown) => e instanceof ConvoyError && e.code === 'E_CONFIG' && /unknown option "staticRot"/.test(e.message));
  assert.throws(() => resolveConfig({ debug: 'yes' } as never), /option "debug" expects true or false, got "yes"/);
  assert.throws(() => resolveConfig({ sources: 'static' } as never), /option "sources" expects a list of folders or \{ dir, prefix\?, include\?, exclude\? \} objects/);
  assert.throws(() => resolveConfig({ compress: ['zip'] } as never), /option "compress" expects a list of 'gzip' and 'br'/);
  assert.throws(() => resolveConfig({ sourceMaps: 'inline' } as never), /option "sourceMaps" expects true, false or 'hidden'/);
  assert.throws(() => resolveConfig({ engines: { js: 'uglify' } } as never), /option "engines.js" expects one of terser, swc/);
  assert.throws(() => resolveConfig({ logger: {} } as never), /option "logger" expects an object with warn, error and info/);
});

test('configFromEnv maps every seed name', () => {
  const env = {
    CONVOY_SOURCES: 'static:vendor/static',
    STATIC_ROOT: 'out',
    STATIC_URL: 'https://cdn.example.com/s/',
    DEBUG: 'yes',
    CONVOY_STRICT: '1',
    CONVOY_DURING_DEBUG: 'true',
    CONVOY_USE_EXISTING_MIN_FILES: 'no',
    CONVOY_GZIP_IN_TEMPLATE: 'on',
    CONVOY_COMPRESS: 'gzip',
    SCSS_REBUILD: '0',
    COFFEE_REBUILD: 'false',
    CARPOOL_CACHE_PATH_FRAGMENT: 'BUNDLES',
    CARPOOL_COMBINE_ORIGINALS: 'yes',
    CARPOOL_COMBINE_DURING_REQUEST: 'no',
    CARPOOL_COMBINE_DURING_DEBUG: '1',
    CARPOOL_CSS_TEMPLATE: '<link href="%s">\\n',
    CARPOOL_JS_TEMPLATE: '<script src="%s"></script>',
    CARPOOL_START_COMMENT_TEMPLATE: '',
    CARPOOL_END_COMMENT_TEMPLATE: '<!-- end %s -->',
    CONVOY_MANIFEST: 'm.json',
    CONVOY_TEMPLATES: 'templates:more',
    CONVOY_TEMPLATE_GLOB: '**/*.njk',
    CONVOY_SOURCE_MAPS: 'hidden',
    CONVOY_INTEGRITY: 'true',
    CONVOY_ENGINES: 'js=swc,css=lightningcss',
    UNRELATED: 'x',
  };
  const o = configFromEnv(env);
  assert.deepEqual(o, {
    sources: ['static', 'vendor/static'],
    staticRoot: 'out',
    staticUrl: 'https://cdn.example.com/s/',
    debug: true,
    strict: true,
    convoyDuringDebug: true,
    useExistingMinFiles: false,
    gzipInTemplate: true,
    compress: ['gzip'],
    scssRebuild: false,
    coffeeRebuild: false,
    carpoolPathFragment: 'BUNDLES',
    carpoolCombineOriginals: true,
    carpoolCombineDuringRequest: false,
    carpoolCombineDuringDebug: true,
    carpoolCssTemplate: '<link href="%s">\n',
    carpoolJsTemplate: '<script src="%s"></script>',
    carpoolStartComment: '',
    carpoolEndComment: '<!-- end %s -->',
    manifest: 'm.json',
    templates: ['templates', 'more'],
    templateGlob: '**/*.njk',
    sourceMaps: 'hidden',
    integrity: true,
    engines: { js: 'swc', css: 'lightningcss' },
  });
  // The mapped options are valid input for resolveConfig.
  const c = resolveConfig({ root: '/p', ...o });
  assert.equal(c.manifest, path.resolve('/p', 'm.json'));
  assert.throws(() => configFromEnv({ CONVOY_STRICT: 'maybe' }), /option "CONVOY_STRICT" expects one of 1\/0\/true\/false\/yes\/no/);
  // DEBUG=express:* belongs to the `debug` package: ignored, not an error.
  assert.deepEqual(configFromEnv({ DEBUG: 'express:*' }), {});
});

import fs from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import type { NunjucksEnvOptions } from '../config.ts';
import type { AstNode, LexerApi, NodesApi, NunjucksModule, Parser } from '../tags/nunjucks-facade.ts';
import type { ConvoyExtension, ScanEvent } from '../tags/extension.ts';
import { resolveInheritance, type TemplateAst } from './inheritance.ts';

/** A template that could not be scanned fully, or a tag the scan skipped. */
export interface ScanProblem {
  template: string;
  line?: number;
  message: string;
  /** `error`: the template could not be parsed; `warning`: scanned, with something skipped. */
  severity: 'error' | 'warning';
}

/** What a scan found and did. */
export interface ScanReport {
  templates: string[];
  events: ScanEvent[];
  problems: ScanProblem[];
  /** Declared bundle assets no `require` names (information only; set by the build once a template uses require). */
  unrequired?: { asset: string; bundles: string[] }[];
}

/** Parses tags of extensions we do not know, so one foreign tag does not hide a template's bundles. */
class StubExtension {
  readonly tags: string[] = [];
  /** Foreign tags that have an `end<tag>` in the template, so a body to parse through. */
  readonly withEnd = new Set<string>();
  parse(parser: Parser, nodes: NodesApi, lexer: LexerApi): AstNode {
    const tok = parser.nextToken();
    // Skip the arguments whatever they are.
    for (let t = parser.nextToken(); t && t.type !== lexer.TOKEN_BLOCK_END; t = parser.nextToken());
    if (!this.withEnd.has(tok.value)) return new nodes.NodeList(tok.lineno, tok.colno, []);
    const body = parser.parseUntilBlocks(`end${tok.value}`);
    parser.advanceAfterBlockEnd();
    return body;
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One template parsed in scan mode: its tree (when it parsed), what its tags did, what went wrong. */
interface Parsed {
  ast?: TemplateAst;
  events: ScanEvent[];
  problems: ScanProblem[];
}

/** Parses one template with the extension in scan mode, stubbing other extensions' tags. */
function parseTemplate(ext: ConvoyExtension, nunjucks: NunjucksModule, name: string, src: string, lexerOpts: NunjucksEnvOptions, knownTags: ReadonlySet<string>): Parsed {
  const blockStart = lexerOpts.tags?.blockStart ?? '{%';
  const stubs = new StubExtension();
  const skipped = new Set<string>();
  const parsed: Parsed = { events: [], problems: [] };
  for (let attempt = 0; attempt < 50; attempt++) {
    const events: ScanEvent[] = [];
    ext.scan = { template: name, events };
    try {
      const root = nunjucks.parser.parse(src, stubs.tags.length ? [ext, stubs] : [ext], lexerOpts);
      parsed.events.push(...events);
      parsed.ast = { name, root };
      break;
    } catch (err) {
      const e = err as { message: string; lineno?: number };
      const unknown = /unknown block tag: (\w+)/.exec(e.message);
      if (unknown && !stubs.tags.includes(unknown[1]!)) {
        const tag = unknown[1]!;
        stubs.tags.push(tag);
        if (!knownTags.has(tag)) skipped.add(tag);
        const endRe = new RegExp(`${escapeRe(blockStart)}-?\\s*end${tag}\\b`);
        if (endRe.test(src)) stubs.withEnd.add(tag);
        continue;
      }
      parsed.events.push(...events);
      parsed.problems.push({ template: name, ...(e.lineno ? { line: e.lineno } : {}), message: e.message.replace(/^\s*\(unknown path\)\s*(\[[^\]]*\])?\s*/, '').trim(), severity: 'error' });
      break;
    } finally {
      ext.scan = undefined;
    }
  }
  for (const tag of skipped) {
    parsed.problems.push({ template: name, message: `unknown tag "${tag}" (another extension's?) was skipped; its contents were still scanned`, severity: 'warning' });
  }
  return parsed;
}

/**
 * Parses every template under `roots` matching `glob` with the renderer's own extension in scan
 * mode, using the parser of `nunjucks` (the copy the app renders with): tags with literal
 * arguments are built as they are parsed, tags that depend on render-time values are reported
 * with template and line, and tags of other extensions are skipped with a warning per file. A
 * carpool whose body holds `{% block %}`s is built once per template that renders it, with that
 * template's blocks (its layouts are parsed too, found by name in `roots`).
 */
export function scanTemplates(ext: ConvoyExtension, roots: string[], glob: string, lexerOpts: NunjucksEnvOptions, nunjucks: NunjucksModule, knownTags: ReadonlySet<string> = new Set()): ScanReport {
  const report: ScanReport = { templates: [], events: [], problems: [] };
  const cache = new Map<string, Parsed>();
  const parseFile = (name: string, file: string): Parsed => {
    let parsed = cache.get(file);
    if (!parsed) {
      parsed = parseTemplate(ext, nunjucks, name, fs.readFileSync(file, 'utf8'), lexerOpts, knownTags);
      cache.set(file, parsed);
    }
    return parsed;
  };
  const reported = new Set<Parsed>();
  const reportParsed = (parsed: Parsed) => {
    if (reported.has(parsed)) return;
    reported.add(parsed);
    report.events.push(...parsed.events);
    report.problems.push(...parsed.problems);
  };
  // As a FileSystemLoader finds a template: the first root holding it; `./x` relative to the includer.
  const load = (name: string, from: string): TemplateAst | string => {
    const rel = /^\.\.?\//.test(name) ? path.posix.join(path.posix.dirname(from), name) : name;
    const root = roots.find((r) => fs.existsSync(path.join(r, rel)));
    if (!root) return 'not found in the template folders';
    const parsed = parseFile(rel, path.join(root, rel));
    reportParsed(parsed);
    return parsed.ast ?? 'could not be parsed';
  };
  const built = new Map<string, ScanEvent['status']>();

  for (const root of roots) {
    if (!fs.existsSync(root)) {
      report.problems.push({ template: root, message: 'template folder does not exist', severity: 'warning' });
      continue;
    }
    for (const name of fg.sync(glob, { cwd: root, onlyFiles: true }).sort()) {
      report.templates.push(name);
      const parsed = parseFile(name, path.join(root, name));
      reportParsed(parsed);
      if (!parsed.ast) continue;
      const { carpools, problem } = resolveInheritance(parsed.ast, load);
      if (problem) report.problems.push({ template: name, message: problem, severity: 'warning' });
      for (const { pending, body } of carpools) {
        const { kind, where } = pending;
        const via = where.template === name ? '' : ` (with the blocks of ${name})`;
        if (body === undefined) {
          report.events.push({ ...where, tag: 'carpool', status: 'dynamic', detail: `carpool ${kind}${via} whose body depends on variables: built at render time` });
          continue;
        }
        const key = `${kind}\0${body}`;
        let status = built.get(key);
        if (!status) {
          status = ext.convoy.carpool(kind, body, where, 'build') !== undefined ? 'built' : 'failed';
          built.set(key, status);
        }
        report.events.push({ ...where, tag: 'carpool', status, detail: `carpool ${kind}${via}` });
      }
    }
  }
  return report;
}

/** The declared assets (source → bundles holding it) that no `require` the scan found names, sorted. */
export function unrequiredAssets(events: ScanEvent[], declared: Map<string, string[]> | undefined): { asset: string; bundles: string[] }[] {
  const required = new Set(events.filter((e) => e.tag === 'require' && e.asset).map((e) => e.asset));
  return [...(declared ?? new Map<string, string[]>())]
    .filter(([asset]) => !required.has(asset))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([asset, bundles]) => ({ asset, bundles }));
}

import fs from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import type { NunjucksEnvOptions } from '../config.ts';
import { nj, nodeList, type AstNode, type Parser } from '../tags/nunjucks-facade.ts';
import type { ConvoyExtension, ScanEvent } from '../tags/extension.ts';

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
  parse(parser: Parser): AstNode {
    const tok = parser.nextToken();
    // Skip the arguments whatever they are.
    for (let t = parser.nextToken(); t && t.type !== nj.lexer.TOKEN_BLOCK_END; t = parser.nextToken());
    if (!this.withEnd.has(tok.value)) return nodeList(tok.lineno, tok.colno, []);
    const body = parser.parseUntilBlocks(`end${tok.value}`);
    parser.advanceAfterBlockEnd();
    return body;
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Parses every template under `roots` matching `glob` with the renderer's own extension in scan
 * mode: tags with literal arguments are built as they are parsed, tags that depend on render-time
 * values are reported with template and line, and tags of other extensions are skipped with a
 * warning per file.
 */
export function scanTemplates(ext: ConvoyExtension, roots: string[], glob: string, lexerOpts: NunjucksEnvOptions): ScanReport {
  const report: ScanReport = { templates: [], events: [], problems: [] };
  const blockStart = lexerOpts.tags?.blockStart ?? '{%';
  for (const root of roots) {
    if (!fs.existsSync(root)) {
      report.problems.push({ template: root, message: 'template folder does not exist', severity: 'warning' });
      continue;
    }
    for (const name of fg.sync(glob, { cwd: root, onlyFiles: true }).sort()) {
      report.templates.push(name);
      const src = fs.readFileSync(path.join(root, name), 'utf8');
      const stubs = new StubExtension();
      const skipped = new Set<string>();
      for (let attempt = 0; attempt < 50; attempt++) {
        const events: ScanEvent[] = [];
        ext.scan = { template: name, events };
        try {
          nj.parser.parse(src, stubs.tags.length ? [ext, stubs] : [ext], lexerOpts);
          report.events.push(...events);
          break;
        } catch (err) {
          const e = err as { message: string; lineno?: number };
          const unknown = /unknown block tag: (\w+)/.exec(e.message);
          if (unknown && !stubs.tags.includes(unknown[1]!)) {
            const tag = unknown[1]!;
            stubs.tags.push(tag);
            skipped.add(tag);
            const endRe = new RegExp(`${escapeRe(blockStart)}-?\\s*end${tag}\\b`);
            if (endRe.test(src)) stubs.withEnd.add(tag);
            continue;
          }
          report.events.push(...events);
          report.problems.push({ template: name, ...(e.lineno ? { line: e.lineno } : {}), message: e.message.replace(/^\s*\(unknown path\)\s*(\[[^\]]*\])?\s*/, '').trim(), severity: 'error' });
          break;
        } finally {
          ext.scan = undefined;
        }
      }
      for (const tag of skipped) {
        report.problems.push({ template: name, message: `unknown tag "${tag}" (another extension's?) was skipped; its contents were still scanned`, severity: 'warning' });
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

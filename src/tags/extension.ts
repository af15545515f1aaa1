import { NodeMaker, literalString, staticText, type AstNode, type LexerApi, type NodesApi, type Parser } from './nunjucks-facade.ts';
import { PENDING_CARPOOL, blockRegistration, outerBlocks, type PendingCarpool } from './blocks.ts';
import { ConvoyUrl, type Convoy, type UrlTag, type Where } from './runtime.ts';
import { reloadClient } from './reload-client.ts';

/** What the template scanner learns from each tag as the extension parses it. */
export interface ScanEvent {
  template: string;
  line: number;
  tag: UrlTag | 'carpool' | 'require';
  /** `built`: prebuilt (for `require`: declared); `dynamic`: depends on render-time values; `failed`: the build (the check) failed. */
  status: 'built' | 'dynamic' | 'failed';
  detail: string;
  /** The asset a `require` names. */
  asset?: string;
}

/** The render context as the extension sees it. */
interface RenderContext {
  lookup(name: string): unknown;
  ctx: Record<string, unknown>;
}

const TAGS = ['convoy', 'scss', 'coffee', 'less', 'carpool', 'require', 'convoy_reload'] as const;

const EXAMPLE_PATH: Record<UrlTag, string> = { convoy: 'css/base.css', scss: 'css/site.scss', coffee: 'js/app.coffee', less: 'css/site.less' };

/** Where the request's Accept-Encoding is read from (for gzipInTemplate), in order. */
export function acceptEncodingOf(context: RenderContext): string | undefined {
  const direct = context.lookup('convoyAcceptEncoding');
  if (typeof direct === 'string') return direct;
  for (const name of ['req', 'request']) {
    const req = context.ctx[name] as { headers?: Record<string, unknown> } | undefined;
    const value = req?.headers?.['accept-encoding'];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

let serial = 0;

/**
 * The Nunjucks extension behind `convoy`, `scss`, `coffee`, `less`, `carpool … endcarpool` and `require`. It only
 * parses: arguments known at compile time are resolved there when the manifest can answer (the
 * output becomes plain template text), everything else calls the Convoy runtime at render time.
 */
export class ConvoyExtension {
  readonly tags: string[] = [...TAGS];
  /** Template source → name, filled by the loader wrapper, so messages can say `template:line`. */
  readonly templateNames = new Map<string, string>();
  /** Template source → lines its file has before it (front matter Eleventy removed), so lines match the file. */
  readonly lineOffsets = new Map<string, number>();
  /** Set by the scanner: resolve by building and report each tag. */
  scan: { template: string; events: ScanEvent[] } | undefined;
  /** Name of the global the `as name` form calls. */
  readonly globalName = `__convoy_${++serial}`;
  /** What `runCarpool`/`runTag` return is HTML to print as is: no runtime's `markSafe` needed (see NodeMaker.callExtension). */
  readonly autoescape = false;

  constructor(readonly convoy: Convoy) {}

  private templateOf(parser: Parser): string {
    return this.scan?.template ?? this.templateNames.get(parser.tokens.str) ?? '(string)';
  }

  private report(where: Where, tag: UrlTag | 'carpool' | 'require', status: ScanEvent['status'], detail: string): void {
    this.scan?.events.push({ template: where.template, line: where.line, tag, status, detail });
  }

  /** Called by Nunjucks with the node classes and token types of the copy that parses the template. */
  parse(parser: Parser, nodes: NodesApi, lexer: LexerApi): AstNode {
    const tok = parser.nextToken();
    const tag = tok.value as (typeof TAGS)[number];
    const where: Where = { template: this.templateOf(parser), line: tok.lineno + 1 + (this.scan ? 0 : (this.lineOffsets.get(parser.tokens.str) ?? 0)) };
    const make = new NodeMaker(nodes, tok.lineno, tok.colno);
    if (tag === 'carpool') return this.parseCarpool(parser, make, lexer, where);
    if (tag === 'require') return this.parseRequire(parser, make, lexer, where);
    if (tag === 'convoy_reload') return this.parseReload(parser, make);

    const next = parser.peekToken();
    if (!next || next.type === lexer.TOKEN_BLOCK_END) {
      parser.fail(`${tag}: expected a path, e.g. {% ${tag} '${EXAMPLE_PATH[tag]}' %}`, tok.lineno, tok.colno);
    }
    const arg = parser.parseExpression();
    let target: string | undefined;
    if (parser.skipSymbol('as')) {
      const name = parser.nextToken();
      if (!name || name.type !== lexer.TOKEN_SYMBOL) parser.fail(`${tag}: expected a variable name after "as"`, tok.lineno, tok.colno);
      target = name.value;
    }
    parser.advanceAfterBlockEnd(tag);

    const path = literalString(arg);
    // `as name` with integrity sets an object (URL + integrity), made at render time.
    const staticOk = target === undefined || !this.convoy.config.integrity;
    if (path !== undefined && staticOk && (this.scan || this.convoy.canResolveStatically(tag))) {
      const printed = this.convoy.resolveUrl(tag, path, where, this.scan ? 'build' : 'lookup');
      if (this.scan) this.report(where, tag, printed ? 'built' : 'failed', path);
      if (printed) {
        if (target === undefined) return make.text(printed.url);
        return make.set(target, make.literal(printed.url));
      }
    } else if (this.scan) {
      this.report(where, tag, 'dynamic', `${tag} with a computed path: resolved at render time`);
    }
    const args = [make.literal(tag), arg, make.literal(where.template), make.literal(where.line), make.literal(target === undefined)];
    if (target === undefined) return make.callExtension(this, 'runTag', args);
    return make.set(target, make.call(this.globalName, args));
  }

  private parseCarpool(parser: Parser, make: NodeMaker, lexer: LexerApi, where: Where): AstNode {
    const { lineno, colno } = make;
    const kindTok = parser.nextToken();
    if (!kindTok || kindTok.type === lexer.TOKEN_BLOCK_END) parser.fail('carpool: expected a kind, css or js (e.g. {% carpool css %})', lineno, colno);
    if (kindTok.type !== lexer.TOKEN_SYMBOL && kindTok.type !== lexer.TOKEN_STRING) {
      parser.fail(`carpool: the kind must be css or js, written bare or quoted; got ${kindTok.value}`, kindTok.lineno, kindTok.colno);
    }
    const kind = kindTok.value;
    if (kind !== 'css' && kind !== 'js') parser.fail(`carpool: unknown kind "${kind}"; expected css or js`, kindTok.lineno, kindTok.colno);
    if (parser.peekToken()?.type === lexer.TOKEN_STRING) return this.parseNamedCarpool(parser, make, kind, where);
    parser.advanceAfterBlockEnd('carpool');
    const body = parser.parseUntilBlocks('endcarpool');
    if (!parser.peekToken()) parser.fail(`carpool ${kind} opened on line ${where.line} has no endcarpool`, lineno, colno);
    parser.advanceAfterBlockEnd();

    const text = staticText(body);
    if (text !== undefined && (this.scan || this.convoy.canResolveStatically('carpool'))) {
      const html = this.convoy.carpool(kind, text, where, this.scan ? 'build' : 'lookup');
      if (this.scan) this.report(where, 'carpool', html !== undefined ? 'built' : 'failed', `carpool ${kind}`);
      if (html !== undefined) return make.text(html);
    }
    const call = make.callExtension(this, 'runCarpool', [make.literal(kind), make.literal(where.template), make.literal(where.line)], [body]);
    const blocks = blockRegistration(make, call, body);
    if (this.scan && text === undefined) {
      // A body holding blocks is known per child template: the scanner resolves it with each one's blocks.
      if (outerBlocks(body).length) call[PENDING_CARPOOL] = { kind, where } satisfies PendingCarpool;
      else this.report(where, 'carpool', 'dynamic', `carpool ${kind} whose body depends on variables: built at render time`);
    }
    return blocks ? make.list([blocks, call]) : call;
  }

  /** `convoy_reload`: the live-reload client in debug, nothing at all in production (decided at compile time). */
  private parseReload(parser: Parser, make: NodeMaker): AstNode {
    parser.advanceAfterBlockEnd('convoy_reload');
    if (!this.convoy.config.debug) return make.list([]);
    return make.text(reloadClient(this.convoy.pipeline.staticPath));
  }

  /** The request's Accept-Encoding, looked up only when a tag can use it (gzipInTemplate). */
  private acceptEncoding(context: RenderContext): string | undefined {
    return this.convoy.config.gzipInTemplate ? acceptEncodingOf(context) : undefined;
  }

  /** Render-time entry of `carpool`: the body is rendered first, then bundled. */
  runCarpool(context: RenderContext, kind: 'css' | 'js', template: string, line: number, body: () => string): unknown {
    return this.convoy.carpool(kind, body(), { template, line }, 'render', this.acceptEncoding(context)) ?? '';
  }

  /** Render-time entry of `convoy`/`scss`/`coffee` (printed: as an extension call; `as name`: through the env global). */
  runTag(context: RenderContext, tag: UrlTag, path: unknown, template: string, line: number, print: boolean): unknown {
    if (print && typeof path === 'string') {
      // Every µs here is paid per tag per render: a hit is one map lookup (bench/ "variable paths").
      const known = this.convoy.knownUrl(tag, path);
      if (known !== undefined) return known;
      const warnedBefore = this.convoy.pipeline.warnings;
      const url = this.convoy.resolveUrl(tag, path, { template, line }, 'render', this.acceptEncoding(context))?.url ?? '';
      this.convoy.keepUrl(tag, path, url, warnedBefore);
      return url;
    }
    const printed = this.convoy.resolveUrl(tag, path, { template, line }, 'render', this.acceptEncoding(context));
    const url = printed?.url ?? '';
    if (print) return url;
    return this.convoy.config.integrity ? new ConvoyUrl(url, printed?.integrity ?? '') : url;
  }

  // ---------------------------------------------------------------- named bundles and require

  /** `carpool css 'site'`: a named bundle's part, with no body and no endcarpool. */
  private parseNamedCarpool(parser: Parser, make: NodeMaker, kind: 'css' | 'js', where: Where): AstNode {
    const name = parser.nextToken().value;
    parser.advanceAfterBlockEnd('carpool');
    if (this.scan || this.convoy.canResolveStatically('carpool')) {
      const html = this.convoy.namedCarpool(kind, name, where, this.scan ? 'build' : 'lookup');
      if (this.scan) this.report(where, 'carpool', html !== undefined && name in this.convoy.config.bundles ? 'built' : 'failed', `carpool ${kind} '${name}'`);
      if (html !== undefined) return make.text(html);
    }
    return make.callExtension(this, 'runNamedCarpool', [make.literal(kind), make.literal(name), make.literal(where.template), make.literal(where.line)]);
  }

  /** Render-time entry of `carpool css 'name'`. */
  runNamedCarpool(context: RenderContext, kind: 'css' | 'js', name: string, template: string, line: number): unknown {
    return this.convoy.namedCarpool(kind, name, { template, line }, 'render', this.acceptEncoding(context)) ?? '';
  }

  /**
   * `require 'css/widget.css'`: prints nothing. A literal path found in a declared bundle vanishes
   * when the template compiles (production); anything else is checked at render time, and the
   * scan records every check for the build.
   */
  private parseRequire(parser: Parser, make: NodeMaker, lexer: LexerApi, where: Where): AstNode {
    const next = parser.peekToken();
    if (!next || next.type === lexer.TOKEN_BLOCK_END) parser.fail("require: expected a path, e.g. {% require 'css/widget.css' %}", make.lineno, make.colno);
    const arg = parser.parseExpression();
    parser.advanceAfterBlockEnd('require');
    const path = literalString(arg);
    if (path !== undefined && this.scan) {
      let status: ScanEvent['status'] = 'failed';
      let detail: string;
      let asset = path;
      try {
        const result = this.convoy.checkRequire(path, 'build')!;
        asset = result.rel;
        status = result.declared ? 'built' : 'failed';
        detail = result.declared
          ? asset
          : `${asset} is in no declared bundle (${result.searched.length ? `searched: ${result.searched.join(', ')}` : 'no bundles are declared'})`;
      } catch (err) {
        detail = `${path}: ${err instanceof Error ? err.message : String(err)}`;
      }
      this.scan.events.push({ template: where.template, line: where.line, tag: 'require', status, detail, asset });
      return make.list([]);
    }
    if (path === undefined && this.scan) this.report(where, 'require', 'dynamic', 'require with a computed path: checked at render time');
    if (path !== undefined && this.convoy.requireIsStatic()) {
      let declared = false;
      try {
        declared = this.convoy.checkRequire(path, 'lookup')?.declared ?? false;
      } catch {
        // An unsafe path: the render-time check reports it.
      }
      if (declared) return make.list([]);
    }
    return make.callExtension(this, 'runRequire', [arg, make.literal(where.template), make.literal(where.line)]);
  }

  /** Render-time entry of `require`: prints nothing. */
  runRequire(_context: RenderContext, path: unknown, template: string, line: number): string {
    this.convoy.requireAsset(path, { template, line });
    return '';
  }
}

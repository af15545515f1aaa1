// @types/nunjucks types the parser and nodes as `any`; this is the small typed surface the tags use.
// Nothing here imports nunjucks: node classes and token types always come from the copy that
// parses the template (the `nodes` and `lexer` arguments of `parse`), since an app may hold two
// copies (npm link, pnpm, nested installs) and a node of one copy fails the other's `instanceof`.

/** A lexer token. */
export interface Token {
  type: string;
  value: string;
  lineno: number;
  colno: number;
}

/** An AST node (only what the tags read). */
export interface AstNode {
  typename: string;
  lineno: number;
  colno: number;
  value?: unknown;
  children?: AstNode[];
  [field: string]: unknown;
}

/** The parser calls the tags make. */
export interface Parser {
  tokens: { str: string; tags: Record<string, string> };
  nextToken(): Token;
  peekToken(): Token | null;
  skipSymbol(name: string): boolean;
  parseExpression(): AstNode;
  parseUntilBlocks(...names: string[]): AstNode & { children: AstNode[] };
  advanceAfterBlockEnd(name?: string): Token;
  fail(message: string, lineno?: number, colno?: number): never;
}

type NodeCtor = new (lineno: number, colno: number, ...fields: unknown[]) => AstNode;

/** Node constructors the tags build (the `nodes` argument of an extension's `parse`). */
export interface NodesApi {
  Node: NodeCtor;
  Output: NodeCtor;
  TemplateData: NodeCtor;
  Literal: NodeCtor;
  Symbol: NodeCtor;
  NodeList: NodeCtor;
  FunCall: NodeCtor;
  Set: NodeCtor;
  If: NodeCtor;
  Block: NodeCtor;
  CallExtension: new (ext: object, prop: string, args: AstNode, contentArgs: AstNode[]) => AstNode;
}

/** Token types the tags compare with (the `lexer` argument of an extension's `parse`). */
export interface LexerApi {
  TOKEN_SYMBOL: string;
  TOKEN_STRING: string;
  TOKEN_BLOCK_END: string;
}

/** What an extension's `parse(parser, nodes, lexer)` receives. */
export type ParseFn = (parser: Parser, nodes: NodesApi, lexer: LexerApi) => AstNode;

/** One copy of the nunjucks module: what the scanner and the CLI use from it. */
export interface NunjucksModule {
  Environment: new (loader: unknown, opts?: object) => import('nunjucks').Environment;
  FileSystemLoader: new (searchPaths: string | string[], opts?: object) => import('nunjucks').ILoader;
  parser: { parse(src: string, extensions: object[], opts: object): AstNode & { children: AstNode[] } };
}

/** Builds nodes of one copy of nunjucks at one position (a tag's first token). */
export class NodeMaker {
  constructor(
    readonly nodes: NodesApi,
    readonly lineno: number,
    readonly colno: number,
  ) {}

  /** A literal. */
  literal(value: unknown): AstNode {
    return new this.nodes.Literal(this.lineno, this.colno, value);
  }

  /** A node list of `children`. */
  list(children: AstNode[]): AstNode {
    return new this.nodes.NodeList(this.lineno, this.colno, children);
  }

  /** Output of fixed text: what a tag resolved at compile time becomes. */
  text(text: string): AstNode {
    return new this.nodes.Output(this.lineno, this.colno, [new this.nodes.TemplateData(this.lineno, this.colno, text)]);
  }

  /** `{% set target = value %}`. */
  set(target: string, value: AstNode): AstNode {
    return new this.nodes.Set(this.lineno, this.colno, [new this.nodes.Symbol(this.lineno, this.colno, target)], value);
  }

  /** A call of the global function `name`. */
  call(name: string, args: AstNode[]): AstNode {
    return new this.nodes.FunCall(this.lineno, this.colno, new this.nodes.Symbol(this.lineno, this.colno, name), this.list(args));
  }

  /** A call of the extension's method `prop` (output unescaped when the extension's `autoescape` is false). */
  callExtension(ext: object, prop: string, args: AstNode[], contentArgs: AstNode[] = []): AstNode {
    const node = new this.nodes.CallExtension(ext, prop, this.list(args), contentArgs);
    // CallExtension nodes carry no position: errors thrown from `run` would have no line.
    node.lineno = this.lineno;
    node.colno = this.colno;
    return node;
  }
}

/** The text of a body made only of template text, or undefined when anything in it is dynamic. */
export function staticText(body: AstNode): string | undefined {
  let text = '';
  for (const child of body.children ?? []) {
    if (child.typename !== 'Output') return undefined;
    for (const piece of child.children ?? []) {
      if (piece.typename !== 'TemplateData') return undefined;
      text += String(piece.value);
    }
  }
  return text;
}

/** A literal string argument's value, or undefined for anything computed at render time. */
export function literalString(node: AstNode): string | undefined {
  return node.typename === 'Literal' && typeof node.value === 'string' ? node.value : undefined;
}

/** The child nodes of any node: its fields' nodes, a list's children, an extension call's bodies. */
export function childNodes(node: AstNode): AstNode[] {
  const out: AstNode[] = [];
  const add = (v: unknown) => {
    if (v && typeof v === 'object' && typeof (v as AstNode).typename === 'string') out.push(v as AstNode);
  };
  const fields = (node as { fields?: string[] }).fields ?? [];
  for (const f of fields) {
    const v = node[f];
    if (Array.isArray(v)) v.forEach(add);
    else add(v);
  }
  return out;
}

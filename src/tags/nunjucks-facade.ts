// @types/nunjucks types the parser and nodes as `any`; this is the small typed surface the tags use.
import nunjucks from 'nunjucks';

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

/** Node constructors the tags build. */
export interface NodesApi {
  Output: NodeCtor;
  TemplateData: NodeCtor;
  Literal: NodeCtor;
  Symbol: NodeCtor;
  NodeList: NodeCtor;
  FunCall: NodeCtor;
  Set: NodeCtor;
  CallExtension: new (ext: object, prop: string, args: AstNode, contentArgs: AstNode[]) => AstNode;
}

/** The Nunjucks internals reached through the facade. */
export interface NunjucksInternals {
  nodes: NodesApi;
  lexer: { TOKEN_SYMBOL: string; TOKEN_STRING: string; TOKEN_BLOCK_END: string };
  parser: { parse(src: string, extensions: object[], opts: object): AstNode & { children: AstNode[] } };
  runtime: { markSafe(s: string): unknown };
}

export const nj = nunjucks as unknown as NunjucksInternals;

/** A literal node. */
export function literal(lineno: number, colno: number, value: unknown): AstNode {
  return new nj.nodes.Literal(lineno, colno, value);
}

/** A node list of `children`. */
export function nodeList(lineno: number, colno: number, children: AstNode[]): AstNode {
  return new nj.nodes.NodeList(lineno, colno, children);
}

/** Output of fixed text: what a tag resolved at compile time becomes. */
export function staticOutput(lineno: number, colno: number, text: string): AstNode {
  return new nj.nodes.Output(lineno, colno, [new nj.nodes.TemplateData(lineno, colno, text)]);
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

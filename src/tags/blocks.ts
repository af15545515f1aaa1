import { childNodes, type AstNode, type NodeMaker } from './nunjucks-facade.ts';

/** Property set on the node that registers a carpool body's blocks (walkers skip it: its blocks also sit in the body). */
export const BLOCK_HOLDER = 'convoyBlockHolder';

/** The `{% block %}`s in a body, outermost only (blocks nested in them are found through them). */
export function outerBlocks(node: AstNode, found: AstNode[] = []): AstNode[] {
  for (const child of childNodes(node)) {
    if (child.typename === 'Block') found.push(child);
    else if (!child[BLOCK_HOLDER]) outerBlocks(child, found);
  }
  return found;
}

/**
 * Nunjucks registers a template's blocks by `findAll`, which does not look into an extension's
 * bodies, so a `{% block %}` in a carpool body would be an "unknown block" at render time. An
 * unreachable `{% if false %}` holding the same blocks makes the compiler register them; the
 * body still renders them in place through `context.getBlock`, so children and `super()` apply.
 * Undefined when the body has no blocks, or when this copy's `findAll` already finds them in
 * `call` (registering them twice would be "defined more than once").
 */
export function blockRegistration(make: NodeMaker, call: AstNode, body: AstNode): AstNode | undefined {
  const blocks = outerBlocks(body);
  if (!blocks.length) return undefined;
  const findAll = (call as { findAll?: (type: unknown) => unknown[] }).findAll;
  if (typeof findAll === 'function' && findAll.call(call, make.nodes.Block).length) return undefined;
  const holder = new make.nodes.If(make.lineno, make.colno, make.literal(false), make.list(blocks), null);
  holder[BLOCK_HOLDER] = true;
  return holder;
}

/** Property set by the extension (scan mode) on a carpool call whose body holds blocks. */
export const PENDING_CARPOOL = 'convoyCarpool';

/** What the scanner needs to build such a carpool once it knows a child's blocks. */
export interface PendingCarpool {
  kind: 'css' | 'js';
  where: { template: string; line: number };
}

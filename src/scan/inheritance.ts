import { BLOCK_HOLDER, PENDING_CARPOOL, type PendingCarpool } from '../tags/blocks.ts';
import { childNodes, literalString, type AstNode } from '../tags/nunjucks-facade.ts';

/** A template parsed in scan mode. */
export interface TemplateAst {
  name: string;
  root: AstNode;
}

/** A carpool whose body holds blocks, with the body a render of one template gives it. */
export interface ResolvedCarpool {
  pending: PendingCarpool;
  /** The body's text, or undefined when it depends on render-time values. */
  body: string | undefined;
}

/** What resolving one template's inheritance found. */
export interface Inheritance {
  carpools: ResolvedCarpool[];
  /** Why the chain could not be followed (a computed or missing parent), if it could not. */
  problem?: string;
}

/** Loads a parent template by the name `{% extends %}` gives, relative names resolved from `from`. */
export type LoadTemplate = (name: string, from: string) => TemplateAst | string;

const MAX_DEPTH = 200;

/** Every node under `node` (holders skipped: their blocks are also in the body). */
function* walk(node: AstNode): Generator<AstNode> {
  for (const child of childNodes(node)) {
    if (child[BLOCK_HOLDER]) continue;
    yield child;
    yield* walk(child);
  }
}

/** The parent's name, null when it is computed at render time, undefined when there is none. */
function parentOf(root: AstNode): string | null | undefined {
  const ext = [...walk(root)].filter((n) => n.typename === 'Extends');
  if (!ext.length) return undefined;
  const name = ext.length === 1 ? literalString(ext[0]!.template as AstNode) : undefined;
  return name ?? null;
}

const isSuper = (n: AstNode) => n.typename === 'FunCall' && (n.name as AstNode | undefined)?.typename === 'Symbol' && (n.name as AstNode).value === 'super';

/**
 * The carpools with blocks in their bodies that rendering `template` reaches, each with the body
 * its blocks give, as django-compressor's offline compression does for `{% compress %}`: walk the
 * top of the `{% extends %}` chain, and wherever a block stands use the lowest template's
 * definition (`super()` reaching the next one up).
 */
export function resolveInheritance(template: TemplateAst, load: LoadTemplate): Inheritance {
  const chain = [template];
  for (let t = template; ; ) {
    const parent = parentOf(t.root);
    if (parent === undefined) break;
    if (parent === null) return { carpools: [], problem: `${t.name}: extends a template named at render time; carpools with blocks in its layout are built at render time` };
    if (chain.length > 50) return { carpools: [], problem: `${t.name}: extends chain too deep` };
    const loaded = load(parent, t.name);
    if (typeof loaded === 'string') return { carpools: [], problem: `${t.name}: extends "${parent}": ${loaded}` };
    chain.push(loaded);
    t = loaded;
  }
  const defs = new Map<string, AstNode[]>();
  for (const t of chain) {
    for (const n of walk(t.root)) {
      if (n.typename !== 'Block') continue;
      const name = String((n.name as AstNode).value);
      defs.set(name, [...(defs.get(name) ?? []), n]);
    }
  }
  type Current = { name: string; index: number } | undefined;
  const definition = (name: string, index: number) => defs.get(name)?.[index];
  const superOf = (current: Current) => (current ? definition(current.name, current.index + 1) : undefined);

  const textOf = (node: AstNode, current: Current, depth: number): string | undefined => {
    if (depth > MAX_DEPTH) return undefined;
    if (node[BLOCK_HOLDER]) return '';
    switch (node.typename) {
      case 'NodeList':
      case 'Root':
      case 'Output': {
        let text = '';
        for (const child of node.children ?? []) {
          const part = textOf(child, current, depth + 1);
          if (part === undefined) return undefined;
          text += part;
        }
        return text;
      }
      case 'TemplateData':
        return String(node.value);
      case 'Block': {
        const name = String((node.name as AstNode).value);
        const def = definition(name, 0);
        return def ? textOf(def.body as AstNode, { name, index: 0 }, depth + 1) : undefined;
      }
      case 'FunCall': {
        const parent = isSuper(node) ? superOf(current) : undefined;
        return parent && current ? textOf(parent.body as AstNode, { name: current.name, index: current.index + 1 }, depth + 1) : undefined;
      }
      default:
        return undefined;
    }
  };

  const carpools: ResolvedCarpool[] = [];
  const visit = (node: AstNode, current: Current, depth: number): void => {
    if (depth > MAX_DEPTH || node[BLOCK_HOLDER]) return;
    const pending = node[PENDING_CARPOOL] as PendingCarpool | undefined;
    if (pending) {
      carpools.push({ pending, body: textOf((node.contentArgs as AstNode[])[0]!, current, depth + 1) });
      return;
    }
    if (node.typename === 'Block') {
      const name = String((node.name as AstNode).value);
      const def = definition(name, 0);
      if (def) visit(def.body as AstNode, { name, index: 0 }, depth + 1);
      return;
    }
    if (isSuper(node)) {
      const parent = superOf(current);
      if (parent && current) visit(parent.body as AstNode, { name: current.name, index: current.index + 1 }, depth + 1);
      return;
    }
    for (const child of childNodes(node)) visit(child, current, depth + 1);
  };
  visit(chain[chain.length - 1]!.root, undefined, 0);
  return { carpools };
}

import vm from 'node:vm';

// Cheap filter: only text that could hold module syntax is handed to the parser.
const CANDIDATE = /(?:^|[\s;{}()])(?:import\s*(?:[\w$*{]|["'])|import\s*\.\s*meta\b|export\s*(?:[\w$*{])|await\s)/;

// What V8 says when module-only syntax appears in a classic script.
const MODULE_ONLY = /import statement outside a module|Unexpected token 'export'|'import\.meta' outside a module|top level bodies of modules/;

/**
 * Whether JavaScript source is an ES module (static `import`/`export`, `import.meta`, top-level
 * `await`): such code is a SyntaxError once joined into a classic script. Decided by V8's own
 * parser (compiled, never run), so `import` in strings, comments and `import()` calls does not count.
 */
export function isEsModule(code: string): boolean {
  if (!CANDIDATE.test(code)) return false;
  try {
    new vm.Script(code);
    return false;
  } catch (err) {
    return err instanceof SyntaxError && MODULE_ONLY.test(err.message);
  }
}

/** Where warnings go and how many distinct causes are remembered. */
export interface WarningSettings {
  maxWarnings: number;
  logger: { warn(message: string): void };
}

/**
 * The pipeline's warnings: each cause logged once, prefixed by the template whose tag met it,
 * with a bounded memory of causes so distinct request paths cannot grow it without bound.
 */
export class WarningLog {
  /** How many warnings were raised (logged or not). */
  count = 0;
  /** The template (`pages/home.njk:12`) whose tag is being served, named by warnings raised meanwhile. */
  private context: string | undefined;
  private readonly warned = new Set<string>();
  private full = false;

  constructor(private readonly settings: WarningSettings) {}

  /** How many distinct causes are remembered. */
  get size(): number {
    return this.warned.size;
  }

  /** Runs `fn` with warnings prefixed by `where` (the template and line of the tag that asked). */
  withContext<T>(where: string, fn: () => T): T {
    const outer = this.context;
    this.context = where;
    try {
      return fn();
    } finally {
      this.context = outer;
    }
  }

  /**
   * Logs a warning once per cause: `key`, or the text itself, naming the template of the first tag
   * that met it. At most `maxWarnings` causes are remembered (the oldest is forgotten first).
   */
  warn(text: string, key = text): void {
    const { maxWarnings, logger } = this.settings;
    // A message that already names the template (at a line of its own, e.g. a carpool's entry) keeps it.
    const template = this.context?.replace(/:\d+$/, '');
    const message = this.context && !text.startsWith(`${template}:`) ? `${this.context}: ${text}` : text;
    this.count++;
    if (this.warned.has(key)) return;
    if (this.warned.size >= maxWarnings) {
      const oldest = this.warned.values().next();
      if (!oldest.done) this.warned.delete(oldest.value);
      if (!this.full) {
        this.full = true;
        logger.warn(`more than ${maxWarnings} distinct warnings (maxWarnings): older ones may be logged again`);
      }
    }
    this.warned.add(key);
    logger.warn(message);
  }
}

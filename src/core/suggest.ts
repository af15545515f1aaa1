/** Edit distance between two names (insertions, deletions, substitutions), stopping early past `limit`. */
function distance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, row[j]!);
    }
    if (best > limit) return limit + 1;
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to a name that was not found (`css/bootstrp.css` → `css/bootstrap.css`),
 * when it is close enough to be a typo: at most a third of the file name's stem apart (1 to 3
 * edits); a candidate with the same base name in another folder counts as close too.
 */
export function closestName(wanted: string, candidates: Iterable<string>): string | undefined {
  const base = wanted.slice(wanted.lastIndexOf('/') + 1);
  const stem = base.replace(/\.[^.]*$/, '');
  const limit = Math.max(1, Math.min(3, Math.floor(stem.length / 3)));
  let best: string | undefined;
  let bestScore = limit + 1;
  for (const c of candidates) {
    const score = c.slice(c.lastIndexOf('/') + 1) === base ? 1 : distance(wanted, c, limit);
    if (score < bestScore || (score === bestScore && best !== undefined && c < best)) {
      best = c;
      bestScore = score;
    }
  }
  return bestScore <= limit ? best : undefined;
}

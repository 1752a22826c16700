import { UserError } from '../errors.js';

/** One `--grid key=v1,v2,…`: a config key and the values (as `--set` text) it takes in turn. */
export interface GridAxis {
  key: string;
  values: string[];
}

/** Parses one `--grid` flag; the values are typed later, by the schema, as `--set` does. */
export function parseGridFlag(flag: string): GridAxis {
  const eq = flag.indexOf('=');
  if (eq <= 0) throw new UserError(`--grid ${flag}: expected key=value1,value2,… (e.g. --grid optimizer.lr=1e-3,2e-3)`);
  const key = flag.slice(0, eq);
  const values = splitList(flag.slice(eq + 1), `--grid ${flag}`);
  if (values.some((v) => v === '')) throw new UserError(`--grid ${flag}: an empty value (two commas in a row, or one at an end)`);
  const repeated = values.find((v, i) => values.indexOf(v) !== i);
  if (repeated !== undefined) throw new UserError(`--grid ${flag}: ${repeated} is given twice`);
  return { key, values };
}

/**
 * Splits `a,b,c` at the commas that are not inside brackets, braces or quotes, so that JSON
 * values such as `[0.9,0.95]` (optimizer.betas) stay whole.
 */
export function splitList(text: string, what: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
    if (depth < 0) throw new UserError(`${what}: a closing bracket without its opening one`);
  }
  if (depth !== 0 || quoted) throw new UserError(`${what}: an unclosed bracket or quote`);
  parts.push(text.slice(start).trim());
  return parts;
}

/** Every combination of the axes' values, the first axis changing slowest. */
export function gridPoints(axes: GridAxis[]): Record<string, string>[] {
  let points: Record<string, string>[] = [{}];
  for (const axis of axes) points = points.flatMap((p) => axis.values.map((v) => ({ ...p, [axis.key]: v })));
  return points;
}

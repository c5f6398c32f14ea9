/** A resource name as a function of a method's arguments. */
export type ResourceTemplate = (args: readonly unknown[]) => string;

const PLACEHOLDER = /\{(\d+)((?:\.[A-Za-z_$][\w$]*)*)\}/g;

/** A placeholder resolved to nothing printable; the message names it. */
export class ResourceTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResourceTemplateError';
  }
}

function read(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const property of path) {
    if (current === null || current === undefined) return undefined;
    current = (current as Record<string, unknown>)[property];
  }
  return current;
}

/**
 * Compiles `'orders:{0}'` or `'book:{0.symbol}:{1}'` once into a function of the arguments.
 * Placeholders take an argument index and optional property path; a placeholder whose value is
 * undefined, null, an object or a function throws, so two calls can never silently share a lock
 * because an argument was missing.
 */
export function compileResourceTemplate(template: string): ResourceTemplate {
  const literals: string[] = [];
  const placeholders: Array<{ index: number; path: string[]; text: string }> = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    literals.push(template.slice(last, match.index));
    placeholders.push({
      index: Number(match[1]),
      path: (match[2] ?? '').split('.').filter(Boolean),
      text: match[0],
    });
    last = (match.index ?? 0) + match[0].length;
  }
  literals.push(template.slice(last));
  if (placeholders.length === 0) return () => template;
  return (args) => {
    let resource = literals[0] as string;
    for (let index = 0; index < placeholders.length; index += 1) {
      const placeholder = placeholders[index] as { index: number; path: string[]; text: string };
      const value = read(args[placeholder.index], placeholder.path);
      if (
        typeof value !== 'string' &&
        typeof value !== 'number' &&
        typeof value !== 'bigint' &&
        typeof value !== 'boolean'
      ) {
        throw new ResourceTemplateError(
          `lock resource "${template}": ${placeholder.text} is ${value === null ? 'null' : typeof value}`,
        );
      }
      resource += String(value) + (literals[index + 1] as string);
    }
    return resource;
  };
}

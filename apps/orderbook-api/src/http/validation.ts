import {
  BadRequestException,
  ValidationPipe,
  type ArgumentMetadata,
  type ValidationError,
  type ValidationPipeOptions,
} from '@nestjs/common';

/** One refused field of a request and why. */
export interface FieldError {
  field: string;
  reason: string;
}

function collect(errors: readonly ValidationError[], parent: string, out: FieldError[]): void {
  for (const error of errors) {
    const field = parent === '' ? error.property : `${parent}.${error.property}`;
    if (error.constraints !== undefined) {
      // An absent field is told that alone; constraints that share one message (a range) say it once.
      const { isDefined } = error.constraints;
      const reasons = isDefined === undefined ? Object.values(error.constraints) : [isDefined];
      out.push({ field, reason: [...new Set(reasons)].join('; ') });
    }
    if (error.children !== undefined && error.children.length > 0) collect(error.children, field, out);
  }
}

/** The body of every 400: the first reason as `message`, each refused field in `errors`. */
export function badRequest(errors: FieldError[]): BadRequestException {
  const first = errors[0];
  return new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    message: first === undefined ? 'invalid request' : first.reason,
    errors,
  });
}

/** Distinct valid query strings remembered per pipe; past it the memo starts over. */
const MEMO_LIMIT = 1_000;

/**
 * ValidationPipe that remembers the DTO each valid query string became. A query is a flat object of
 * strings, so equal text means an equal result: the same `?depth=20` is checked by class-transformer
 * and class-validator once (about 10 µs a request on the book route), then copied. Bodies, params
 * and invalid queries (which throw) take the full path every time.
 */
class QueryMemoValidationPipe extends ValidationPipe {
  private readonly memo = new Map<string, object>();

  constructor(options: ValidationPipeOptions) {
    super(options);
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const { metatype } = metadata;
    // A DTO is an object: a JSON array or scalar body is told so, not "property 0 should not exist".
    // No body at all stays Nest's (an empty object, as its pipe makes of it).
    if (
      metadata.type === 'body' &&
      value !== undefined &&
      value !== null &&
      (typeof value !== 'object' || Array.isArray(value)) &&
      metatype !== undefined &&
      this.toValidate(metadata)
    ) {
      throw badRequest([{ field: 'body', reason: 'the body must be a JSON object' }]);
    }
    if (metadata.type !== 'query' || metatype === undefined || !isFlatStrings(value)) {
      return super.transform(value, metadata);
    }
    const key = `${metatype.name}?${JSON.stringify(value)}`;
    const known = this.memo.get(key);
    if (known !== undefined && known.constructor === metatype) return copyOf(known);
    const result = (await super.transform(value, metadata)) as object;
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(key, copyOf(result));
    return result;
  }
}

function isFlatStrings(value: unknown): value is Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const field in value) if (typeof (value as Record<string, unknown>)[field] !== 'string') return false;
  return true;
}

/** A shallow copy with the DTO's prototype: handlers may change the DTO they get. */
function copyOf<T extends object>(dto: T): T {
  return Object.assign(Object.create(Object.getPrototypeOf(dto) as object) as T, dto);
}

/**
 * The app-wide pipe: DTOs checked by class-validator, unknown properties refused (not silently
 * dropped), query strings converted where a DTO says so; a 400 names each field and why.
 */
export function createValidationPipe(): ValidationPipe {
  return new QueryMemoValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const fields: FieldError[] = [];
      collect(errors, '', fields);
      return badRequest(fields);
    },
  });
}

import { BadRequestException, ValidationPipe, type ValidationError } from '@nestjs/common';

/** One refused field of a request and why. */
export interface FieldError {
  field: string;
  reason: string;
}

function collect(errors: readonly ValidationError[], parent: string, out: FieldError[]): void {
  for (const error of errors) {
    const field = parent === '' ? error.property : `${parent}.${error.property}`;
    if (error.constraints !== undefined) {
      out.push({ field, reason: Object.values(error.constraints).join('; ') });
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

/**
 * The app-wide pipe: DTOs checked by class-validator, unknown properties refused (not silently
 * dropped), query strings converted where a DTO says so; a 400 names each field and why.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
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

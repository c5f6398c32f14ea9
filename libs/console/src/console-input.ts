import { BadRequestException } from '@nestjs/common';

import type { LanePriority } from './console-api.types.js';
import { isLanePriority, STREAM_LANES } from './stream-layout.js';

/**
 * Reading what a client sent: every parser names the field it refuses, as the contract's 400 body
 * says (`'<field>: <what is wrong>'`). Nothing from a request reaches Redis unchecked.
 */

/** A stream entry id, `<ms>-<seq>`. */
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

function bad(field: string, what: string): BadRequestException {
  return new BadRequestException(`${field}: ${what}`);
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A name (stream, group, consumer, symbol): 1 to `max` characters. */
export function nameParam(field: string, value: unknown, max = 200): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw bad(field, `must be a string of 1 to ${max} characters, got ${show(value)}`);
  }
  return value;
}

/** An optional stream id (a cursor); undefined when absent or empty. */
export function optionalStreamId(field: string, value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !STREAM_ID.test(value)) {
    throw bad(field, `must be a stream id like 1700000000000-0, got ${show(value)}`);
  }
  return value;
}

/** An optional lane (`critical`, `high`, `normal`, `low`); undefined when absent or empty. */
export function optionalLane(field: string, value: unknown): LanePriority | undefined {
  if (value === undefined || value === '') return undefined;
  if (!isLanePriority(value))
    throw bad(field, `must be one of ${STREAM_LANES.join(', ')}, got ${show(value)}`);
  return value;
}

/** A position among the entries of every lane: an id, and the lane of that id it is at. */
export interface LaneCursor {
  id: string;
  /** Undefined for a bare id: past that id in every lane. */
  priority?: LanePriority;
}

/** An optional cursor over the lanes, `<id>:<lane>` or a bare `<id>`; undefined when absent or empty. */
export function optionalLaneCursor(field: string, value: unknown): LaneCursor | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'string') {
    const colon = value.indexOf(':');
    const id = colon === -1 ? value : value.slice(0, colon);
    const priority = colon === -1 ? undefined : value.slice(colon + 1);
    if (STREAM_ID.test(id) && (priority === undefined || isLanePriority(priority))) return { id, priority };
  }
  throw bad(field, `must be a cursor like 1700000000000-0:high (or a stream id), got ${show(value)}`);
}

/** A whole number from `min` to `max`; `fallback` when absent. Query strings give numbers as text. */
export function wholeNumber(
  field: string,
  value: unknown,
  min: number,
  max: number,
  fallback?: number,
): number {
  if ((value === undefined || value === '') && fallback !== undefined) return fallback;
  const number = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
    throw bad(field, `must be a whole number from ${min} to ${max}, got ${show(value)}`);
  }
  return number;
}

/** The JSON body as an object (never an array or a primitive). */
export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw bad('body', 'must be a JSON object');
  return body as Record<string, unknown>;
}

/** A list of 1 to `max` distinct stream ids. */
export function streamIds(field: string, value: unknown, max: number): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > max) {
    throw bad(field, `must be an array of 1 to ${max} stream ids`);
  }
  const ids = new Set<string>();
  value.forEach((id, index) => {
    if (typeof id !== 'string' || !STREAM_ID.test(id)) {
      throw bad(`${field}[${index}]`, `must be a stream id like 1700000000000-0, got ${show(id)}`);
    }
    ids.add(id);
  });
  return [...ids];
}

/** An optional string of 1 to `max` characters. */
export function optionalString(field: string, value: unknown, max = 1_000): string | undefined {
  if (value === undefined) return undefined;
  return nameParam(field, value, max);
}

/** Orders stream ids (`<ms>-<seq>`) numerically. */
export function compareStreamIds(left: string, right: string): number {
  const [leftMs = '0', leftSeq = '0'] = left.split('-');
  const [rightMs = '0', rightSeq = '0'] = right.split('-');
  const ms = BigInt(leftMs) - BigInt(rightMs);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(leftSeq) - BigInt(rightSeq);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/** The milliseconds part of a stream id. */
export function idMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

import { DECIMAL_PATTERN } from '../markets/decimal.js';
import { MAX_IMPORT_LEVELS } from './exchange.service.js';

/** A required field that is absent is told only that (not every format it would also fail). */
const REQUIRED = { message: '$property is required' };

const DECIMAL_MESSAGE =
  '$property must be a decimal string of digits with at most one point (such as "64250.5"), no sign or exponent';

/** `POST /markets/:symbol/orders`: a limit order. */
export class PlaceOrderRequest {
  @ApiProperty({ enum: ['buy', 'sell'], example: 'buy' })
  @IsDefined(REQUIRED)
  @IsIn(['buy', 'sell'], { message: '$property must be "buy" or "sell"' })
  side!: 'buy' | 'sell';

  @ApiProperty({
    description: "Limit price, a decimal string on the market's tick grid",
    example: '64250.50',
    pattern: DECIMAL_PATTERN.source,
  })
  @IsDefined(REQUIRED)
  @IsString({ message: '$property must be a decimal string' })
  @MaxLength(49)
  @Matches(DECIMAL_PATTERN, { message: DECIMAL_MESSAGE })
  price!: string;

  @ApiProperty({
    description: "Quantity in the base currency, a decimal string on the market's lot grid",
    example: '0.25',
    pattern: DECIMAL_PATTERN.source,
  })
  @IsDefined(REQUIRED)
  @IsString({ message: '$property must be a decimal string' })
  @MaxLength(49)
  @Matches(DECIMAL_PATTERN, { message: DECIMAL_MESSAGE })
  quantity!: string;

  @ApiPropertyOptional({
    description:
      'Idempotency key chosen by the client: placing again with the same one returns the original order (for 24 h)',
    example: 'my-order-0001',
    pattern: '^[A-Za-z0-9._:-]{1,64}$',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9._:-]{1,64}$/, { message: '$property must be 1-64 characters of A-Z a-z 0-9 . _ : -' })
  clientOrderId?: string;

  @ApiPropertyOptional({ enum: ['limit'], default: 'limit', description: 'Only limit orders exist' })
  @IsOptional()
  @IsIn(['limit'], { message: '$property must be "limit"' })
  type?: 'limit';
}

/** One level of an imported book. */
export class BookLevelRequest {
  @ApiProperty({ example: '64250.5' })
  @IsDefined(REQUIRED)
  @IsString({ message: '$property must be a decimal string' })
  @MaxLength(49)
  @Matches(DECIMAL_PATTERN, { message: DECIMAL_MESSAGE })
  price!: string;

  @ApiProperty({ example: '1.25' })
  @IsDefined(REQUIRED)
  @IsString({ message: '$property must be a decimal string' })
  @MaxLength(49)
  @Matches(DECIMAL_PATTERN, { message: DECIMAL_MESSAGE })
  quantity!: string;
}

/** `PUT /markets/:symbol/book`: the whole book to import. */
export class ImportBookRequest {
  @ApiProperty({ type: [BookLevelRequest], maxItems: MAX_IMPORT_LEVELS })
  @IsDefined(REQUIRED)
  @IsArray()
  @ArrayMaxSize(MAX_IMPORT_LEVELS)
  @ValidateNested({ each: true })
  @Type(() => BookLevelRequest)
  bids!: BookLevelRequest[];

  @ApiProperty({ type: [BookLevelRequest], maxItems: MAX_IMPORT_LEVELS })
  @IsDefined(REQUIRED)
  @IsArray()
  @ArrayMaxSize(MAX_IMPORT_LEVELS)
  @ValidateNested({ each: true })
  @Type(() => BookLevelRequest)
  asks!: BookLevelRequest[];
}

/** What a bad `?depth=` is told, whichever of its constraints it breaks. */
const DEPTH_RANGE = '$property must be a whole number from 1 to 500';

/** `?depth=` of `GET /markets/:symbol/book`. */
export class BookQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 20, description: 'Levels per side' })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: DEPTH_RANGE })
  @Min(1, { message: DEPTH_RANGE })
  @Max(500, { message: DEPTH_RANGE })
  depth?: number;

  @ApiPropertyOptional({
    enum: ['true', 'false'],
    description: 'true: read the book itself, bypassing the cache (costs a Redis round trip)',
  })
  @IsOptional()
  @IsIn(['true', 'false'], { message: '$property must be "true" or "false"' })
  fresh?: 'true' | 'false';
}

/** `?limit=` of `GET /markets/:symbol/trades`. */
export class TradesQuery {
  @ApiPropertyOptional({
    minimum: 1,
    maximum: 1000,
    default: 50,
    description: 'Trades to return, newest first',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: '$property must be a whole number' })
  @Min(1)
  @Max(1000)
  limit?: number;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

// Response shapes, for the OpenAPI document only: handlers return plain objects of these shapes.

export class MarketResponse {
  @ApiProperty({ example: 'BTC-USD' }) symbol!: string;
  @ApiProperty({ example: 'BTC' }) base!: string;
  @ApiProperty({ example: 'USD' }) quote!: string;
  @ApiProperty({ example: '0.01', description: 'Every price is a multiple of it' }) tickSize!: string;
  @ApiProperty({ example: '0.00000001', description: 'Every quantity is a multiple of it' }) lotSize!: string;
  @ApiProperty({ example: '10000000' }) maxPrice!: string;
  @ApiProperty({ example: '1000' }) maxQuantity!: string;
}

export class OrderResponse {
  @ApiProperty({ example: '42' }) id!: string;
  @ApiProperty({ example: 'BTC-USD' }) symbol!: string;
  @ApiProperty({ enum: ['buy', 'sell'] }) side!: string;
  @ApiProperty({ example: '64250.5' }) price!: string;
  @ApiProperty({ example: '0.25' }) quantity!: string;
  @ApiProperty({ example: '0.1' }) filledQuantity!: string;
  @ApiProperty({ example: '0.15', description: 'What still rests on the book (0 once filled or cancelled)' })
  remainingQuantity!: string;
  @ApiProperty({ enum: ['open', 'partially_filled', 'filled', 'cancelled'] }) status!: string;
  @ApiProperty({ type: String, nullable: true, example: 'my-order-0001' }) clientOrderId!: string | null;
  @ApiProperty({ example: '2026-11-23T12:00:00.000Z' }) createdAt!: string;
  @ApiProperty({ example: '2026-11-23T12:00:00.000Z' }) updatedAt!: string;
}

export class TradeResponse {
  @ApiProperty({ example: '7' }) id!: string;
  @ApiProperty({ example: 'BTC-USD' }) symbol!: string;
  @ApiProperty({ example: '64250.5', description: "The resting (maker) order's price" }) price!: string;
  @ApiProperty({ example: '0.1' }) quantity!: string;
  @ApiProperty({ enum: ['buy', 'sell'], description: 'Side of the incoming (taker) order' })
  takerSide!: string;
  @ApiProperty({ example: '41' }) makerOrderId!: string;
  @ApiProperty({ example: '42' }) takerOrderId!: string;
  @ApiProperty({ example: '2026-11-23T12:00:00.000Z' }) time!: string;
}

export class PlaceOrderResponse {
  @ApiProperty({ type: OrderResponse }) order!: OrderResponse;
  @ApiProperty({ type: [TradeResponse], description: 'Trades this order made on arrival' })
  trades!: TradeResponse[];
  @ApiProperty({ description: 'True when the clientOrderId was seen before: `order` is the original' })
  duplicate!: boolean;
}

export class BookLevelResponse {
  @ApiProperty({ example: '64250.5' }) price!: string;
  @ApiProperty({ example: '1.25', description: 'Total resting at this price' }) quantity!: string;
}

export class TickerResponse {
  @ApiProperty({ example: 'BTC-USD' }) symbol!: string;
  @ApiProperty({ example: 12, description: 'Book sequence: one more per change of the book' })
  sequence!: number;
  @ApiProperty({ type: BookLevelResponse, nullable: true }) bestBid!: BookLevelResponse | null;
  @ApiProperty({ type: BookLevelResponse, nullable: true }) bestAsk!: BookLevelResponse | null;
  @ApiProperty({ type: String, nullable: true, example: '0.5' }) spread!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '64250.75' }) mid!: string | null;
  @ApiProperty({ type: TradeResponse, nullable: true }) lastTrade!: TradeResponse | null;
}

export class BookResponse {
  @ApiProperty({ example: 'BTC-USD' }) symbol!: string;
  @ApiProperty({ example: 12 }) sequence!: number;
  @ApiProperty({ example: 1795000000000, description: 'When the book last changed (ms since the epoch)' })
  updatedAt!: number;
  @ApiProperty({ example: 20 }) depth!: number;
  @ApiProperty({ type: [BookLevelResponse], description: 'Best (highest) first' }) bids!: BookLevelResponse[];
  @ApiProperty({ type: [BookLevelResponse], description: 'Best (lowest) first' }) asks!: BookLevelResponse[];
  @ApiProperty({ type: BookLevelResponse, nullable: true }) bestBid!: BookLevelResponse | null;
  @ApiProperty({ type: BookLevelResponse, nullable: true }) bestAsk!: BookLevelResponse | null;
  @ApiProperty({ type: String, nullable: true }) spread!: string | null;
  @ApiProperty({ type: String, nullable: true }) mid!: string | null;
  @ApiProperty({
    example: 3141592653,
    description:
      'CRC-32 of the levels returned (see libs/orderbook README), to verify a book built from the stream',
  })
  checksum!: number;
}

export class ImportBookResponse {
  @ApiProperty({ example: 'BTC-USD' }) symbol!: string;
  @ApiProperty({ example: 13 }) sequence!: number;
  @ApiProperty({ example: 5 }) bidLevels!: number;
  @ApiProperty({ example: 5 }) askLevels!: number;
  @ApiProperty({ example: 3, description: 'Resting orders the import cancelled' }) cancelledOrders!: number;
}

export class FieldErrorResponse {
  @ApiProperty({ example: 'price' }) field!: string;
  @ApiProperty({ example: 'must be a multiple of the tick size 0.01 of BTC-USD' }) reason!: string;
}

export class ErrorResponse {
  @ApiProperty({ example: 400 }) statusCode!: number;
  @ApiProperty({ example: 'Bad Request' }) error!: string;
  @ApiProperty({ example: 'price must be a multiple of the tick size 0.01 of BTC-USD' }) message!: string;
  @ApiPropertyOptional({ type: [FieldErrorResponse], description: 'For 400: each field refused and why' })
  errors?: FieldErrorResponse[];
}

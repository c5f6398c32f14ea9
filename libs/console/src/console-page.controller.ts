import { Get, Inject, NotFoundException, Param, Req, Res, StreamableFile } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

import { ConsolePublic } from './console-action.decorator.js';
import { ConsoleAssets } from './console-assets.js';
import { newNonce, renderPage } from './console-page.js';
import { requestPath, type ConsoleRequest } from './console-request.js';

/**
 * `GET <path>`: the page, with a fresh CSP nonce per response; `GET <path>/assets/<file>`: its
 * script modules and stylesheet from the package's `dist/ui/`. Both reachable without the API-key
 * session (the page asks for it), never without the app's guard when one is configured.
 * Headers go through Nest's HTTP adapter, so this works on Express and Fastify alike.
 */
export class ConsolePageController {
  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(ConsoleAssets) private readonly assets: ConsoleAssets,
  ) {}

  @Get()
  @ConsolePublic({ metered: false })
  page(@Req() request: ConsoleRequest, @Res({ passthrough: true }) response: unknown): string {
    const base = requestPath(request).replace(/\/+$/, '');
    const { html, headers } = renderPage(base, newNonce());
    const adapter = this.adapterHost.httpAdapter;
    for (const [name, value] of Object.entries(headers)) adapter.setHeader(response, name, value);
    return html;
  }

  /** `GET <path>/assets/<file>`: one file of the page (flat: `dist/ui` has no subdirectories). */
  @Get('assets/:file')
  @ConsolePublic({ metered: false })
  asset(@Param('file') file: string, @Res({ passthrough: true }) response: unknown): Promise<StreamableFile> {
    return this.send(file, response);
  }

  /** `GET <path>/assets/ui/<file>`: the same files, as the page's module script names them. */
  @Get('assets/ui/:file')
  @ConsolePublic({ metered: false })
  uiAsset(
    @Param('file') file: string,
    @Res({ passthrough: true }) response: unknown,
  ): Promise<StreamableFile> {
    return this.send(file, response);
  }

  private async send(file: string, response: unknown): Promise<StreamableFile> {
    // The parameter arrives decoded: encode it back, the asset reader decodes (and checks) once.
    const asset = await this.assets.read(encodeURIComponent(file));
    if (asset === undefined) throw new NotFoundException('no such console asset');
    const adapter = this.adapterHost.httpAdapter;
    adapter.setHeader(response, 'Content-Type', asset.contentType);
    adapter.setHeader(response, 'Cache-Control', 'no-cache');
    adapter.setHeader(response, 'X-Content-Type-Options', 'nosniff');
    return new StreamableFile(asset.body, { type: asset.contentType, length: asset.body.length });
  }
}

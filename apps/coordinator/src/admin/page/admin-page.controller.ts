/**
 * The admin page at /admin: an HTML document with its stylesheet and script (files beside this
 * module, no front-end build) that asks for the admin token and drives the admin REST API from the
 * browser. The page itself holds no data, so it is served without the token.
 */
import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { loadAdminPageAssets } from './admin-page.assets';

@ApiExcludeController()
@Controller('admin')
export class AdminPageController {
  /** Read once when the app starts: a missing file stops the start, not the first visit. */
  private readonly assets = loadAdminPageAssets();

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  // Script and style only from these files (nothing inline); the page may not be framed (its
  // buttons act with the token) and its forms never submit natively (the token must not end up in
  // a URL).
  @Header(
    'content-security-policy',
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  )
  @Header('referrer-policy', 'no-referrer')
  @Header('x-content-type-options', 'nosniff')
  page(): string {
    return this.assets.html;
  }

  @Get('admin-page.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'no-store')
  @Header('x-content-type-options', 'nosniff')
  stylesheet(): string {
    return this.assets.css;
  }

  @Get('admin-page.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'no-store')
  @Header('x-content-type-options', 'nosniff')
  script(): string {
    return this.assets.script;
  }
}

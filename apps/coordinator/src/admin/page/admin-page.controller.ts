/**
 * The admin page at /admin: one self-contained HTML document (no front-end build) that asks for
 * the admin token and drives the admin REST API from the browser. The page itself holds no data,
 * so it is served without the token.
 */
import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { ADMIN_PAGE_HTML } from './admin-page.html';

@ApiExcludeController()
@Controller('admin')
export class AdminPageController {
  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  // The page is inline script and style only; it may not be framed (its buttons act with the
  // token) and its forms never submit natively (the token must not end up in a URL).
  @Header(
    'content-security-policy',
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  )
  @Header('referrer-policy', 'no-referrer')
  @Header('x-content-type-options', 'nosniff')
  page(): string {
    return ADMIN_PAGE_HTML;
  }
}

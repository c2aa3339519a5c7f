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
  @Header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
  page(): string {
    return ADMIN_PAGE_HTML;
  }
}

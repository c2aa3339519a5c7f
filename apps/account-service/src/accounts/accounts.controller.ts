/** `POST /accounts`, `GET /accounts/:id`. */
import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { AccountsService, AccountView } from './accounts.service';
import { CreateAccountDto } from './create-account.dto';

@Controller('accounts')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Post()
  open(@Body() body: CreateAccountDto): Promise<AccountView> {
    return this.accounts.open(body.id, body.balance);
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<AccountView> {
    return this.accounts.get(id);
  }
}

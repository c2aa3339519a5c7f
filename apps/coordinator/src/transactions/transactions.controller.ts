/** HTTP API v1 (DESIGN.md §3). Thin: validation by DTOs, decisions in the service. */
import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { BeginResponse, DecisionResponse, RegisterBranchResponse, TransactionView } from '@tcc/client';
import { TransactionService } from './transaction.service';
import { BeginDto } from './dto/begin.dto';
import { RegisterBranchDto } from './dto/register-branch.dto';
import { CommitDto, RollbackDto } from './dto/decision.dto';
import { GidPipe } from './gid.pipe';

@Controller('v1/transactions')
export class TransactionsController {
  constructor(private readonly transactions: TransactionService) {}

  @Post()
  async begin(@Body() dto: BeginDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<BeginResponse> {
    const { created, body } = await this.transactions.begin(dto ?? {});
    reply.status(created ? 201 : 200);
    return body;
  }

  @Post(':gid/branches')
  async register(
    @Param('gid', GidPipe) gid: string,
    @Body() dto: RegisterBranchDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RegisterBranchResponse> {
    const { created, body } = await this.transactions.registerBranch(gid, dto);
    reply.status(created ? 201 : 200);
    return body;
  }

  @Post(':gid/commit')
  @HttpCode(200)
  commit(@Param('gid', GidPipe) gid: string, @Body() dto: CommitDto): Promise<DecisionResponse> {
    return this.transactions.commit(gid, dto?.wait ?? true);
  }

  @Post(':gid/rollback')
  @HttpCode(200)
  rollback(@Param('gid', GidPipe) gid: string, @Body() dto: RollbackDto): Promise<DecisionResponse> {
    return this.transactions.rollback(gid, dto?.wait ?? true, dto?.reason);
  }

  @Get(':gid')
  get(@Param('gid', GidPipe) gid: string): Promise<TransactionView> {
    return this.transactions.get(gid);
  }
}

/** HTTP API v1 (DESIGN.md §3). Thin: validation by DTOs, decisions in the service. */
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiHeader, ApiTags } from '@nestjs/swagger';
import type { BeginResponse, DecisionResponse, RegisterBranchResponse, TransactionView } from '@tcc/client/protocol';
import { TransactionService } from './transaction.service';
import { BeginDto } from './dto/begin.dto';
import { RegisterBranchDto } from './dto/register-branch.dto';
import { CommitDto, RollbackDto } from './dto/decision.dto';
import { GidPipe } from './gid.pipe';

@ApiTags('transactions')
@Controller('v1/transactions')
export class TransactionsController {
  constructor(private readonly transactions: TransactionService) {}

  @Post()
  @ApiHeader({ name: 'traceparent', required: false, description: 'W3C trace context, passed on to the confirms and cancels' })
  async begin(
    @Body() dto: BeginDto,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Headers('traceparent') traceparent?: string,
  ): Promise<BeginResponse> {
    const { created, body } = await this.transactions.begin(dto ?? {}, traceparent);
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
  @ApiHeader({ name: 'traceparent', required: false, description: 'W3C trace context, passed on to the confirms and cancels' })
  @HttpCode(200)
  commit(@Param('gid', GidPipe) gid: string, @Body() dto: CommitDto, @Headers('traceparent') traceparent?: string): Promise<DecisionResponse> {
    return this.transactions.commit(gid, dto?.wait ?? true, traceparent);
  }

  @Post(':gid/rollback')
  @ApiHeader({ name: 'traceparent', required: false, description: 'W3C trace context, passed on to the confirms and cancels' })
  @HttpCode(200)
  rollback(@Param('gid', GidPipe) gid: string, @Body() dto: RollbackDto, @Headers('traceparent') traceparent?: string): Promise<DecisionResponse> {
    return this.transactions.rollback(gid, dto?.wait ?? true, dto?.reason, traceparent);
  }

  @Get(':gid')
  get(@Param('gid', GidPipe) gid: string): Promise<TransactionView> {
    return this.transactions.get(gid);
  }
}

/** The v1 API over HTTP and gRPC: begin, register, commit, roll back, read. */
import { Module } from '@nestjs/common';
import { TransactionsGrpcController } from './transactions.grpc-controller';
import { PhaseTwoModule } from '../phase-two/phase-two.module';
import { TransactionService } from './transaction.service';
import { TransactionsController } from './transactions.controller';
import { ApiClientGuard } from '../auth/api-client.guard';

@Module({
  imports: [PhaseTwoModule],
  controllers: [TransactionsController, TransactionsGrpcController],
  providers: [TransactionService, ApiClientGuard],
})
export class TransactionsModule {}

/** The v1 API over HTTP and gRPC: TCC (begin, register, commit, roll back, read), sagas and reliable messages. */
import { Module } from '@nestjs/common';
import { TransactionsGrpcController } from './transactions.grpc-controller';
import { PhaseTwoModule } from '../phase-two/phase-two.module';
import { TransactionService } from './transaction.service';
import { TransactionsController } from './transactions.controller';
import { ApiClientGuard } from '../auth/api-client.guard';
import { SagaService } from './saga.service';
import { MessageService } from './message.service';
import { MessagesController, SagasController } from './steps.controller';

@Module({
  imports: [PhaseTwoModule],
  controllers: [TransactionsController, SagasController, MessagesController, TransactionsGrpcController],
  providers: [TransactionService, SagaService, MessageService, ApiClientGuard],
})
export class TransactionsModule {}

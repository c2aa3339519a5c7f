/** The admin API and page: inspection and manual intervention, behind TCC_ADMIN_TOKEN, every action audited. */
import { Module } from '@nestjs/common';
import { PhaseTwoModule } from '../phase-two/phase-two.module';
import { AdminTokenGuard } from './admin-token.guard';
import { AdminController } from './admin.controller';
import { AdminService } from './admin.service';
import { AdminPageController } from './page/admin-page.controller';
import { ReconcileModule } from '../reconcile/reconcile.module';
import { ReconciliationsController } from './reconciliations.controller';

@Module({
  imports: [PhaseTwoModule, ReconcileModule],
  controllers: [AdminController, AdminPageController, ReconciliationsController],
  providers: [AdminService, AdminTokenGuard],
})
export class AdminModule {}

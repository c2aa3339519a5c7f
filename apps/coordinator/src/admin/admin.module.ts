/** The admin API and page: inspection and manual intervention, behind TCC_ADMIN_TOKEN, every action audited. */
import { Module } from '@nestjs/common';
import { PhaseTwoModule } from '../phase-two/phase-two.module';
import { AdminTokenGuard } from './admin-token.guard';
import { AdminController } from './admin.controller';
import { AdminService } from './admin.service';
import { AdminPageController } from './page/admin-page.controller';

@Module({
  imports: [PhaseTwoModule],
  controllers: [AdminController, AdminPageController],
  providers: [AdminService, AdminTokenGuard],
})
export class AdminModule {}

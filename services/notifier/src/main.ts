import { runService } from '@jousting/bus';
import { notifierService } from './service.js';

await runService(notifierService);

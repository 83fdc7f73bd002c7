import { runService } from '@jousting/bus';
import { workerService } from './service.js';

await runService(workerService);

import { runService } from '@jousting/bus';
import { coordinatorService } from './service.js';

await runService(coordinatorService);

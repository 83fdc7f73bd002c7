import { runService } from '@jousting/bus';
import { settingsService } from './service.js';

await runService(settingsService);

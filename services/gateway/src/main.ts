#!/usr/bin/env node
import { runService } from '@jousting/bus';
import { gatewayService } from './service.js';

await runService(gatewayService);

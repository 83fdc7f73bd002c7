import { type Command, healthCommand, settingsCommands } from './commands.js';
import { coordPolicyCommands, workerPolicyCommands } from './coord-policies.js';
import { coordCommands, workerCommands } from './coordinator.js';
import { notifierCommands } from './notify.js';
import { secretCommands } from './secrets.js';

/** Every command, for the AsyncAPI document. */
export const ALL_COMMANDS: Command[] = [
  ...Object.values(settingsCommands),
  ...Object.values(secretCommands),
  ...Object.values(coordCommands),
  ...Object.values(workerCommands),
  ...Object.values(notifierCommands),
  ...Object.values(coordPolicyCommands),
  ...Object.values(workerPolicyCommands),
  healthCommand('<service>'),
];

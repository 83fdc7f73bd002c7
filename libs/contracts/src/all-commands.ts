import { type Command, healthCommand, settingsCommands } from './commands.js';
import { coordCommands, workerCommands } from './coordinator.js';

/** Every command, for the AsyncAPI document. */
export const ALL_COMMANDS: Command[] = [
  ...Object.values(settingsCommands),
  ...Object.values(coordCommands),
  ...Object.values(workerCommands),
  healthCommand('<service>'),
];

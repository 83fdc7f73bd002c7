import { type ClaimedTask, ExecPayload, issuesFromZod } from '@jousting/contracts';
import { type TaskContext, WorkerError } from '@jousting/worker-sdk';
import { execVerdict, runExec } from './exec-runner.js';

/** The `exec` handler: validates the payload, runs the command, streams its lines, classifies the end. */
export async function runExecTask(task: ClaimedTask, ctx: TaskContext) {
  const parsed = ExecPayload.safeParse(task.payload);
  if (!parsed.success) {
    const issues = issuesFromZod(parsed.error, 'payload').map((i) => `${i.field}: ${i.message}`);
    throw new WorkerError(`invalid exec payload (${issues.join('; ')})`, 'fatal');
  }
  const outcome = await runExec(parsed.data, {
    signal: ctx.signal,
    onLine: (line, stream) => ctx.output(line, stream),
  });
  const verdict = execVerdict(outcome);
  if (!verdict.ok) throw new WorkerError(verdict.message, verdict.errorClass);
  return verdict.result;
}

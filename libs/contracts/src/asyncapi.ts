import { ALL_COMMANDS } from './all-commands.js';
import { ReplyEnvelope } from './commands.js';
import { CloudEvent } from './envelope.js';
import { EVENT_DATA } from './events.js';
import { toComponentSchema } from './json-schema.js';
import { STREAMS } from './subjects.js';

const REF = '#/components/schemas/';

/** The AsyncAPI 3.0 document of the NATS surface: every event and command, from the zod schemas. */
export function buildAsyncApi(opts: { version: string }) {
  const schemas: Record<string, unknown> = {};
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const envelope = toComponentSchema(CloudEvent, 'output', schemas, REF);

  for (const [type, data] of Object.entries(EVENT_DATA)) {
    const key = channelKey(type);
    const payload = {
      allOf: [
        envelope,
        {
          type: 'object',
          properties: { type: { const: type }, data: toComponentSchema(data, 'output', schemas, REF) },
        },
      ],
    };
    messages[key] = {
      name: type,
      title: type,
      summary: data.description ?? type,
      contentType: 'application/cloudevents+json',
      payload,
    };
    channels[key] = {
      address: type,
      description: `Event \`${type}\`, also stored in the ${STREAMS.events.name} JetStream stream.`,
      messages: { [key]: { $ref: `#/components/messages/${key}` } },
    };
    operations[`on_${key}`] = { action: 'receive', channel: { $ref: `#/channels/${key}` } };
  }

  const reply = toComponentSchema(ReplyEnvelope, 'output', schemas, REF);
  for (const cmd of ALL_COMMANDS) {
    const key = channelKey(cmd.subject);
    messages[`${key}_request`] = {
      name: `${cmd.subject} request`,
      payload: toComponentSchema(cmd.request, 'input', schemas, REF),
    };
    messages[`${key}_reply`] = {
      name: `${cmd.subject} reply`,
      payload: {
        allOf: [reply],
        description: 'data on success is:',
        'x-data': toComponentSchema(cmd.response, 'output', schemas, REF),
      },
    };
    channels[key] = {
      address: cmd.subject,
      description: cmd.description,
      messages: {
        request: { $ref: `#/components/messages/${key}_request` },
        reply: { $ref: `#/components/messages/${key}_reply` },
      },
    };
    operations[`call_${key}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${key}` },
      messages: [{ $ref: `#/channels/${key}/messages/request` }],
      reply: { messages: [{ $ref: `#/channels/${key}/messages/reply` }] },
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Jousting Operator NATS API',
      version: opts.version,
      description:
        'Events are CloudEvents 1.0 published on their type as subject and kept in the EVENTS stream. ' +
        'Commands are NATS service requests on api.<service>.<op> (queue group "q"); replies are ' +
        '{ok:true,data} or {ok:false,error:{code,message,details}}.',
    },
    defaultContentType: 'application/json',
    servers: { nats: { host: 'localhost:4222', protocol: 'nats' } },
    channels,
    operations,
    components: { schemas, messages },
  };
}

const channelKey = (subject: string) => subject.replace(/[^A-Za-z0-9]+/g, '_');

/**
 * The v1 request bodies (HTTP and gRPC alike) checked by JSON schemas compiled once at start-up
 * with ajv: a few microseconds per request instead of building and validating a DTO instance. The
 * DTO classes stay as the OpenAPI description; these schemas are the rules, and a failure is the
 * same 400 as ever: every offending field named, one message per problem.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import {
  BRANCH_ID_MAX_LENGTH,
  GID_MAX_LENGTH,
  ID_PATTERN,
  MAX_TIMEOUT_MS,
  PARTICIPANT_MAX_LENGTH,
  REASON_MAX_LENGTH,
  TARGET_MAX_LENGTH,
  type AbortMessageRequest,
  type BeginRequest,
  type CommitRequest,
  type PrepareMessageRequest,
  type RegisterBranchRequest,
  type RollbackRequest,
  type StartSagaRequest,
  type SubmitMessageRequest,
} from '@tcc/client/protocol';
import { TccError, TccErrorCode } from '../domain/transaction.errors';

/** The bodies the v1 calls take: the wire types of the contract. */
export type BeginBody = BeginRequest;
export type RegisterBody = RegisterBranchRequest;
export type CommitBody = CommitRequest;
export type RollbackBody = RollbackRequest;
export type SagaBody = StartSagaRequest;
export type MessageBody = PrepareMessageRequest;
export type SubmitBody = SubmitMessageRequest;
export type AbortBody = AbortMessageRequest;

const ID = ID_PATTERN.source;
const ID_RULE = 'must contain only the characters A-Z a-z 0-9 _ . : -';

// Optional fields also take null, which means "not given" (as the DTOs always allowed).
const optional = <T extends object>(schema: T): T & { nullable: true } => ({ ...schema, nullable: true });

/** A completion callback (docs/contract.md §11): where, and how (default: from the target's shape). */
const callbackProperties = {
  callback: optional({ type: 'string', minLength: 1, maxLength: TARGET_MAX_LENGTH }),
  callbackProtocol: optional({ type: 'string', enum: ['http', 'grpc'] }),
} as const;

const beginSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    gid: optional({ type: 'string', minLength: 1, maxLength: GID_MAX_LENGTH, pattern: ID }),
    timeoutMs: optional({ type: 'integer', minimum: 1, maximum: MAX_TIMEOUT_MS }),
    metadata: optional({ type: 'object' }),
    ...callbackProperties,
  },
} as const;

const registerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['branchId', 'protocol', 'confirm', 'cancel'],
  properties: {
    branchId: { type: 'string', minLength: 1, maxLength: BRANCH_ID_MAX_LENGTH, pattern: ID },
    participant: optional({ type: 'string', minLength: 1, maxLength: PARTICIPANT_MAX_LENGTH }),
    protocol: { type: 'string', enum: ['http', 'grpc'] },
    confirm: { type: 'string', minLength: 1, maxLength: TARGET_MAX_LENGTH },
    cancel: { type: 'string', minLength: 1, maxLength: TARGET_MAX_LENGTH },
    payload: {},
  },
} as const;

const commitSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { wait: optional({ type: 'boolean' }) },
} as const;

const rollbackSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    wait: optional({ type: 'boolean' }),
    reason: optional({ type: 'string', maxLength: REASON_MAX_LENGTH }),
  },
} as const;

/** A saga's or a message's step: the fields a branch registration has, named for what they do. */
const stepProperties = {
  branchId: { type: 'string', minLength: 1, maxLength: BRANCH_ID_MAX_LENGTH, pattern: ID },
  participant: optional({ type: 'string', minLength: 1, maxLength: PARTICIPANT_MAX_LENGTH }),
  action: { type: 'string', minLength: 1, maxLength: TARGET_MAX_LENGTH },
  payload: {},
} as const;

const sagaSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['steps'],
  properties: {
    gid: optional({ type: 'string', minLength: 1, maxLength: GID_MAX_LENGTH, pattern: ID }),
    timeoutMs: optional({ type: 'integer', minimum: 1, maximum: MAX_TIMEOUT_MS }),
    steps: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['branchId', 'protocol', 'action', 'compensate'],
        properties: {
          ...stepProperties,
          protocol: { type: 'string', enum: ['http', 'grpc'] },
          compensate: { type: 'string', minLength: 1, maxLength: TARGET_MAX_LENGTH },
        },
      },
    },
    concurrent: optional({ type: 'boolean' }),
    after: optional({
      type: 'object',
      additionalProperties: { type: 'array', items: { type: 'string', minLength: 1, maxLength: BRANCH_ID_MAX_LENGTH, pattern: ID } },
    }),
    wait: optional({ type: 'boolean' }),
    metadata: optional({ type: 'object' }),
    ...callbackProperties,
  },
} as const;

const messageSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['gid', 'steps', 'queryPrepared'],
  properties: {
    gid: { type: 'string', minLength: 1, maxLength: GID_MAX_LENGTH, pattern: ID },
    steps: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['branchId', 'protocol', 'action'],
        properties: { ...stepProperties, protocol: { type: 'string', enum: ['http', 'grpc', 'amqp', 'nats'] } },
      },
    },
    queryPrepared: { type: 'string', minLength: 1, maxLength: TARGET_MAX_LENGTH },
    timeoutMs: optional({ type: 'integer', minimum: 1, maximum: MAX_TIMEOUT_MS }),
    metadata: optional({ type: 'object' }),
    ...callbackProperties,
  },
} as const;

const submitSchema = commitSchema;

const abortSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { reason: optional({ type: 'string', maxLength: REASON_MAX_LENGTH }) },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });

/** The offending field: a top-level name, or a step's as `steps[2].action`. */
function fieldOf(error: ErrorObject): string {
  const path = error.instancePath.replace(/^\//, '').split('/').filter((part) => part !== '');
  const at = path.map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`)).join('');
  const child = (name: string): string => (at === '' ? name : `${at}.${name}`);
  if (error.keyword === 'required') return child(String((error.params as { missingProperty: string }).missingProperty));
  if (error.keyword === 'additionalProperties') return child(String((error.params as { additionalProperty: string }).additionalProperty));
  return at === '' ? 'body' : at;
}

function messageOf(field: string, error: ErrorObject): string {
  switch (error.keyword) {
    case 'required':
      return `${field} is required`;
    case 'additionalProperties':
      return `property ${field} should not exist`;
    case 'pattern':
      return `${field} ${ID_RULE}`;
    case 'type':
      return field === 'body' ? 'body must be a JSON object' : `${field} must be ${String((error.params as { type: string }).type).replace(',null', '')}`;
    default:
      return `${field} ${error.message ?? 'is invalid'}`;
  }
}

export type BodyValidator<T> = (input: unknown) => T;

/** Compiles `schema` once; the validator answers the body (nulls of optional fields dropped) or throws a 400. */
function compile<T>(schema: object): BodyValidator<T> {
  const validate = ajv.compile(schema) as ValidateFunction<T>;
  return (input: unknown): T => {
    // No body at all is an empty one: every field of commit and rollback is optional.
    const body = input === undefined || input === null ? {} : input;
    if (validate(body)) {
      const value = body as Record<string, unknown>;
      for (const key of Object.keys(value)) if (value[key] === null && key !== 'payload') delete value[key];
      for (const step of Array.isArray(value.steps) ? (value.steps as Record<string, unknown>[]) : []) {
        if (step.participant === null) delete step.participant;
      }
      return body;
    }
    const fields: string[] = [];
    const messages: string[] = [];
    for (const error of validate.errors ?? []) {
      const field = fieldOf(error);
      if (!fields.includes(field)) fields.push(field);
      const message = messageOf(field, error);
      if (!messages.includes(message)) messages.push(message);
    }
    throw new TccError(TccErrorCode.INVALID_ARGUMENT, messages.join('; '), { fields, messages });
  };
}

export const validateBegin = compile<BeginBody>(beginSchema);
export const validateRegister = compile<RegisterBody>(registerSchema);
export const validateCommit = compile<CommitBody>(commitSchema);
export const validateRollback = compile<RollbackBody>(rollbackSchema);

export const validateSaga = compile<SagaBody>(sagaSchema);
export const validateMessage = compile<MessageBody>(messageSchema);
export const validateSubmit = compile<SubmitBody>(submitSchema);
export const validateAbort = compile<AbortBody>(abortSchema);

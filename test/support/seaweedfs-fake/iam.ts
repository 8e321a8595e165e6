/**
 * The embedded IAM Query API of the fake (design/seaweedfs.md §2): users, access keys and inline
 * policies flattened to SeaweedFS action strings (§2.4). Responses are AWS-shaped XML in the
 * `https://iam.amazonaws.com/doc/2010-05-08/` namespace so `@aws-sdk/client-iam` parses them.
 */
import type http from 'node:http';
import { el, send } from './http.js';
import { FakeState, randomString, type FakeCredential, type FakeIdentity } from './state.js';

export const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const ACCOUNT_ID = '000000000000';

export function iamError(res: http.ServerResponse, status: number, code: string, message: string, reqId: string): void {
  const type = status >= 500 ? 'Receiver' : 'Sender';
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${IAM_NS}"><Error>${el('Type', type)}${el('Code', code)}${el('Message', message)}</Error>${el('RequestId', reqId)}</ErrorResponse>`;
  send(res, status, body, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': reqId });
}

class IamError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const noSuchUser = (name: string): IamError => new IamError(404, 'NoSuchEntity', `The user with name ${name} cannot be found.`);
const invalid = (message: string): IamError => new IamError(400, 'InvalidInput', message);
const malformed = (message: string): IamError => new IamError(400, 'MalformedPolicyDocument', message);

// ---- inline policy → action strings (§2.4) -------------------------------------------------

const COARSE: Record<string, string> = {
  '*': 'Admin',
  'Put*': 'Write',
  'Get*': 'Read',
  'List*': 'List',
  'Tagging*': 'Tagging',
  'DeleteBucket*': 'DeleteBucket',
  PutBucketAcl: 'WriteAcp',
  GetBucketAcl: 'ReadAcp',
};
const FINE: Record<string, string> = {
  PutObject: 'Write',
  DeleteObject: 'Write',
  DeleteObjectVersion: 'Write',
  CreateMultipartUpload: 'Write',
  UploadPart: 'Write',
  CompleteMultipartUpload: 'Write',
  AbortMultipartUpload: 'Write',
  ListMultipartUploads: 'Write',
  ListParts: 'Write',
  GetObject: 'Read',
  GetObjectVersion: 'Read',
  GetBucketLocation: 'Read',
  GetBucketVersioning: 'Read',
  GetBucketPolicy: 'Read',
  ListBucket: 'List',
  ListBucketVersions: 'List',
  ListAllMyBuckets: 'List',
  GetObjectTagging: 'Tagging',
  PutObjectTagging: 'Tagging',
  DeleteObjectTagging: 'Tagging',
  GetBucketTagging: 'Tagging',
  PutBucketTagging: 'Tagging',
  GetObjectAcl: 'ReadAcp',
  PutObjectAcl: 'WriteAcp',
  GetObjectRetention: 'GetObjectRetention',
  PutObjectRetention: 'PutObjectRetention',
  GetObjectLegalHold: 'GetObjectLegalHold',
  PutObjectLegalHold: 'PutObjectLegalHold',
  BypassGovernanceRetention: 'BypassGovernanceRetention',
  DeleteBucket: 'DeleteBucket',
};

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

function mapAction(a: unknown): string {
  if (typeof a !== 'string') throw malformed('Action must be a string');
  const name = a.startsWith('s3:') ? a.slice(3) : a;
  const mapped = COARSE[name] ?? FINE[name];
  if (!mapped) throw malformed(`unsupported action: ${a}`);
  return mapped;
}

/** Resource → scope suffix ('' = unscoped, else ':B' or ':B/p/*'). */
function mapResource(r: unknown, state: FakeState): string {
  if (typeof r !== 'string') throw malformed('Resource must be a string');
  if (r === '*') return '';
  const ARN = 'arn:aws:s3:::';
  if (!r.startsWith(ARN)) throw malformed(`unsupported resource: ${r}`);
  const path = r.slice(ARN.length);
  if (path === '*' || path === '') return '';
  const i = path.indexOf('/');
  if (i < 0) return `:${path}`;
  const bucket = path.slice(0, i);
  const rest = path.slice(i + 1);
  if (rest === '*' || rest === '') return `:${bucket}`;
  // Prefix resources: honoured by the embedded IAM from 4.38; before, the wildcard was stripped
  // (the resulting exact string never matches an object, so the grant does nothing).
  if (state.atLeast('4.38')) return `:${bucket}/${rest}`;
  return `:${bucket}/${rest.replace(/\*+$/, '')}`;
}

/** Flatten a policy document into action strings; throws MalformedPolicyDocument. */
export function policyToActions(doc: unknown, state: FakeState): string[] {
  if (!doc || typeof doc !== 'object') throw malformed('policy document must be a JSON object');
  const statements = asList((doc as { Statement?: unknown }).Statement);
  if (statements.length === 0) throw malformed('policy document has no Statement');
  const out = new Set<string>();
  for (const st of statements) {
    if (!st || typeof st !== 'object') throw malformed('Statement must be an object');
    const s = st as Record<string, unknown>;
    if (s.Effect !== 'Allow') throw malformed(`only Effect Allow is supported (got ${JSON.stringify(s.Effect)})`);
    const actions = asList(s.Action).map(mapAction);
    const resources = asList(s.Resource).map((r) => mapResource(r, state));
    if (actions.length === 0 || resources.length === 0) throw malformed('Statement needs Action and Resource');
    // Condition blocks are ignored, as SeaweedFS does for inline policies.
    for (const a of actions) for (const r of resources) out.add(`${a}${r}`);
  }
  return [...out];
}

function recompute(state: FakeState, ident: FakeIdentity): void {
  const out = new Set<string>();
  for (const doc of ident.policies.values()) for (const a of policyToActions(doc, state)) out.add(a);
  ident.actions = [...out];
}

// ---- XML shapes ----------------------------------------------------------------------------

const arn = (name: string): string => `arn:aws:iam::${ACCOUNT_ID}:user/${name}`;
const userXml = (u: FakeIdentity, tag = 'User'): string =>
  `<${tag}><Path>/</Path>${el('UserName', u.name)}${el('UserId', u.userId)}${el('Arn', arn(u.name))}${el('CreateDate', u.created.toISOString())}</${tag}>`;
const keyMetaXml = (u: FakeIdentity, c: FakeCredential): string =>
  `<member>${el('UserName', u.name)}${el('AccessKeyId', c.accessKey)}${el('Status', c.status)}${el('CreateDate', c.created.toISOString())}</member>`;

function ok(res: http.ServerResponse, action: string, result: string | undefined, reqId: string): void {
  const inner = result === undefined ? '' : `<${action}Result>${result}</${action}Result>`;
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${IAM_NS}">${inner}<ResponseMetadata>${el('RequestId', reqId)}</ResponseMetadata></${action}Response>`;
  send(res, 200, body, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': reqId });
}

const SELF_SERVICE = new Set(['GetUser', 'CreateAccessKey', 'DeleteAccessKey', 'ListAccessKeys', 'UpdateAccessKey']);

/**
 * Run one IAM action. `caller` is undefined when authentication is off (no identities).
 * Only `Admin` identities may call IAM, except that a user may GetUser itself and manage its own
 * access keys (SeaweedFS self-service).
 */
export function handleIam(state: FakeState, caller: FakeIdentity | undefined, form: Map<string, string>, res: http.ServerResponse, reqId: string): void {
  const action = form.get('Action') ?? '';
  try {
    if (caller && !FakeState.isAdmin(caller)) {
      const target = form.get('UserName') ?? caller.name;
      if (!(SELF_SERVICE.has(action) && target === caller.name)) {
        throw new IamError(403, 'AccessDenied', `User: ${caller.name} is not authorized to perform: iam:${action}`);
      }
    }
    if (state.iamReadOnly && !/^(Get|List)/.test(action)) {
      throw new IamError(403, 'AccessDenied', 'IAM write operations are disabled on this server');
    }
    run(state, caller, action, form, res, reqId);
  } catch (e) {
    if (e instanceof IamError) return iamError(res, e.status, e.code, e.message, reqId);
    throw e;
  }
}

function userNameParam(form: Map<string, string>, required: boolean, caller?: FakeIdentity): string {
  const name = form.get('UserName') ?? (required ? undefined : caller?.name);
  if (name === undefined || name === '') throw invalid('UserName is required');
  if (!/^[\w+=,.@-]{1,64}$/.test(name)) throw invalid(`invalid UserName ${JSON.stringify(name)}`);
  return name;
}

function getUser(state: FakeState, name: string): FakeIdentity {
  const u = state.findIdentity(name);
  if (!u) throw noSuchUser(name);
  return u;
}

function run(state: FakeState, caller: FakeIdentity | undefined, action: string, form: Map<string, string>, res: http.ServerResponse, reqId: string): void {
  switch (action) {
    case 'CreateUser': {
      const name = userNameParam(form, true);
      if (state.findIdentity(name)) throw new IamError(409, 'EntityAlreadyExists', `User with name ${name} already exists.`);
      return ok(res, action, userXml(state.newIdentity(name)), reqId);
    }
    case 'GetUser': {
      const name = userNameParam(form, false, caller);
      return ok(res, action, userXml(getUser(state, name)), reqId);
    }
    case 'DeleteUser': {
      const name = userNameParam(form, true);
      const u = getUser(state, name);
      // As a real 4.53 gateway: a user with access keys cannot be deleted (AWS semantics).
      if (u.credentials.length > 0) throw new IamError(409, 'DeleteConflict', `cannot delete user ${name}: user has ${u.credentials.length} access key(s). Delete access keys first`);
      state.identities.splice(state.identities.indexOf(u), 1);
      return ok(res, action, undefined, reqId);
    }
    case 'ListUsers': {
      const members = state.identities.map((u) => userXml(u, 'member')).join('');
      return ok(res, action, `<Users>${members}</Users><IsTruncated>false</IsTruncated>`, reqId);
    }
    case 'CreateAccessKey': {
      const name = userNameParam(form, false, caller);
      const u = getUser(state, name);
      const givenKey = form.get('AccessKeyId');
      const givenSecret = form.get('SecretAccessKey');
      if (givenKey !== undefined && !/^[A-Za-z0-9]{4,128}$/.test(givenKey)) throw invalid('AccessKeyId must be 4-128 alphanumeric characters');
      if (givenSecret !== undefined && (givenSecret.length < 8 || givenSecret.length > 128)) throw invalid('SecretAccessKey must be 8-128 characters');
      const accessKey = givenKey ?? `AKIA${randomString(16)}`;
      const secretKey = givenSecret ?? randomString(40, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
      if ((givenKey === undefined) !== (givenSecret === undefined)) throw invalid('AccessKeyId and SecretAccessKey must be supplied together');
      // A key already in use conflicts, even on the same user with the same secret (as a real
      // 4.53 gateway answers): callers that retry must look the key up first (ListAccessKeys).
      if (state.lookupAccessKey(accessKey)) throw new IamError(409, 'EntityAlreadyExists', 'AccessKeyId is already in use');
      const cred: FakeCredential = { accessKey, secretKey, status: 'Active', created: new Date() };
      u.credentials.push(cred);
      return ok(
        res,
        action,
        `<AccessKey>${el('UserName', u.name)}${el('AccessKeyId', cred.accessKey)}${el('Status', cred.status)}${el('SecretAccessKey', cred.secretKey)}${el('CreateDate', cred.created.toISOString())}</AccessKey>`,
        reqId,
      );
    }
    case 'DeleteAccessKey': {
      const name = userNameParam(form, false, caller);
      const u = getUser(state, name);
      const id = form.get('AccessKeyId') ?? '';
      const i = u.credentials.findIndex((c) => c.accessKey === id);
      if (i < 0) throw new IamError(404, 'NoSuchEntity', `The Access Key with id ${id} cannot be found.`);
      u.credentials.splice(i, 1);
      return ok(res, action, undefined, reqId);
    }
    case 'UpdateAccessKey': {
      const name = userNameParam(form, false, caller);
      const u = getUser(state, name);
      const id = form.get('AccessKeyId') ?? '';
      const status = form.get('Status');
      if (status !== 'Active' && status !== 'Inactive') throw invalid('Status must be Active or Inactive');
      const c = u.credentials.find((x) => x.accessKey === id);
      if (!c) throw new IamError(404, 'NoSuchEntity', `The Access Key with id ${id} cannot be found.`);
      c.status = status;
      return ok(res, action, undefined, reqId);
    }
    case 'ListAccessKeys': {
      const name = userNameParam(form, false, caller);
      const u = getUser(state, name);
      return ok(res, action, `<AccessKeyMetadata>${u.credentials.map((c) => keyMetaXml(u, c)).join('')}</AccessKeyMetadata><IsTruncated>false</IsTruncated>`, reqId);
    }
    case 'PutUserPolicy': {
      const name = userNameParam(form, true);
      const policyName = form.get('PolicyName');
      const docText = form.get('PolicyDocument');
      if (!policyName) throw invalid('PolicyName is required');
      if (docText === undefined) throw invalid('PolicyDocument is required');
      const u = getUser(state, name);
      let doc: unknown;
      try {
        doc = JSON.parse(docText);
      } catch {
        throw malformed('policy document is not valid JSON');
      }
      policyToActions(doc, state); // validate before storing
      u.policies.set(policyName, doc);
      recompute(state, u);
      return ok(res, action, undefined, reqId);
    }
    case 'GetUserPolicy': {
      const name = userNameParam(form, true);
      const policyName = form.get('PolicyName') ?? '';
      const u = getUser(state, name);
      const doc = u.policies.get(policyName);
      if (doc === undefined) throw new IamError(404, 'NoSuchEntity', `The user policy with name ${policyName} cannot be found.`);
      // SeaweedFS returns the document as plain JSON (AWS URL-encodes it).
      return ok(res, action, `${el('UserName', u.name)}${el('PolicyName', policyName)}${el('PolicyDocument', JSON.stringify(doc))}`, reqId);
    }
    case 'DeleteUserPolicy': {
      const name = userNameParam(form, true);
      const policyName = form.get('PolicyName') ?? '';
      const u = getUser(state, name);
      if (!u.policies.delete(policyName)) throw new IamError(404, 'NoSuchEntity', `The user policy with name ${policyName} cannot be found.`);
      recompute(state, u);
      return ok(res, action, undefined, reqId);
    }
    case 'ListUserPolicies': {
      const name = userNameParam(form, true);
      const u = getUser(state, name);
      return ok(res, action, `<PolicyNames>${[...u.policies.keys()].map((n) => el('member', n)).join('')}</PolicyNames><IsTruncated>false</IsTruncated>`, reqId);
    }
    default:
      throw new IamError(400, 'InvalidAction', `Action ${action} is not implemented by the fake SeaweedFS IAM API`);
  }
}

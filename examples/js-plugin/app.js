// Plumbline plugin `azure-logic-apps`, written in JavaScript.
//
// Azure Logic Apps (Consumption) are where many MSPs wired alerts to Teams
// before Workflows existed: an HTTP action posting to a Teams Incoming
// Webhook URL loses every message since the Office 365 connectors were
// retired, and nobody is told. A Logic App's HTTP trigger is itself a
// webhook whose URL works like a password, and a password typed into an
// HTTP action is readable by everyone with Reader on the workflow.
//
// It reads, for each subscription in `subscriptions`, the Azure Resource
// Manager list `GET /subscriptions/{id}/providers/Microsoft.Logic/workflows`
// (following `nextLink`), all subscriptions at once through `http.send-all`,
// and walks each workflow definition's triggers and actions, nested ones
// included. Register entries: one per workflow, one per outbound HTTP action
// whose URL it can resolve, and a context record per subscription. URLs are
// secrets: only their fingerprint and host go in, and no header, password or
// signature ever does.
//
// Built with componentize-js against wit/since_v0.2.0 with every WASI
// feature disabled (see README.md): the host's imports are its only way out.

import { sendAll } from 'plumbline:plugin/http@0.2.0';
import { write as log } from 'plumbline:plugin/log@0.2.0';
import { limits, progress } from 'plumbline:plugin/host-info@0.2.0';

const NAME = 'azure-logic-apps';
const ARM_HOST = 'management.azure.com';
const API_VERSION = '2019-05-01';
// ARM pages workflow lists; more pages than this for one subscription is a loop.
const MAX_PAGES = 100;
// A definition is JSON from the network: nesting deeper than any designer
// makes is refused rather than walked.
const MAX_DEPTH = 32;

const RETIRED = `${NAME}.retired-teams-webhook`;
const PLAIN_HTTP = `${NAME}.plain-http-action`;
const SECRET = `${NAME}.secret-in-definition`;
const OPEN_TRIGGER = `${NAME}.open-request-trigger`;
const UNREADABLE = `${NAME}.subscription-unreadable`;

class ScanFailure {
  constructor(tag, message) {
    this.tag = tag;
    this.val = message;
  }
}

// ---- text and fingerprints ----

function utf8(text) {
  const out = [];
  for (const ch of text) {
    let c = ch.codePointAt(0);
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return out;
}

function byteLength(text) {
  let n = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

function decode(bytes) {
  return new TextDecoder('utf-8').decode(bytes);
}

const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

// SHA-256 (FIPS 180-4) of a string's UTF-8 bytes, as lowercase hex. The
// engine is built without WASI random or crypto, and the register needs the
// same digest the Rust SDK and the Python plugin compute.
function sha256Hex(text) {
  const bytes = utf8(text);
  const bitLength = bytes.length * 8;
  bytes.push(0x80);
  while (bytes.length % 64 !== 56) bytes.push(0);
  for (let shift = 56; shift >= 0; shift -= 8) bytes.push(Math.floor(bitLength / 2 ** shift) & 0xff);
  const h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  const w = new Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let block = 0; block < bytes.length; block += 64) {
    for (let i = 0; i < 16; i++) {
      const j = block + i * 4;
      w[i] = ((bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3]) >>> 0;
    }
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      hh = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    [a, b, c, d, e, f, g, hh].forEach((v, i) => { h[i] = (h[i] + v) >>> 0; });
  }
  return h.map((v) => v.toString(16).padStart(8, '0')).join('');
}

// The same form as the Rust SDK's redact::fingerprint, so that one URL found
// by webhook-finder in a script, by the Python plugin in an action group and
// here in a Logic App has one fingerprint in the register.
function fingerprint(secret) {
  return `sha256:${sha256Hex(secret)}`;
}

function attrs(values) {
  return Object.entries(values)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([name, value]) => ({ name, value: String(value) }));
}

// ---- URLs ----

// Scheme, host and path of an absolute http(s) URL; undefined for anything
// else (an expression, a relative path). No URL class in this engine build.
function parseUrl(text) {
  const m = /^(https?):\/\/([^/?#]*)([^?#]*)/i.exec(text);
  if (!m) return undefined;
  const authority = m[2].includes('@') ? m[2].slice(m[2].lastIndexOf('@') + 1) : m[2];
  const host = authority.startsWith('[') ? authority.slice(0, authority.indexOf(']') + 1) : authority.split(':')[0];
  return { scheme: m[1].toLowerCase(), host: host.toLowerCase(), path: (m[3] || '/').toLowerCase() };
}

// What a URL points at, from its host and path alone (as the Python plugin and
// webhook-finder classify them).
function urlKind(url) {
  const { host, path } = url;
  if ((host === 'outlook.office.com' || host === 'outlook.office365.com') && path.startsWith('/webhook/')) {
    return 'teams-connector-legacy';
  }
  if (host.endsWith('.webhook.office.com') && path.startsWith('/webhookb2/')) return 'teams-incoming-webhook';
  if (host.endsWith('.logic.azure.com') || host.endsWith('.environment.api.powerplatform.com')) {
    return path.includes('/workflows/') ? 'workflow' : 'logic-app';
  }
  return 'other';
}

// ---- settings and reading ARM ----

function settingsOf(ctx) {
  const given = Object.fromEntries(ctx.settings.map((a) => [a.name, a.value]));
  const subs = (given.subscriptions || '').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s);
  if (subs.length === 0) {
    throw new ScanFailure('config', 'set `subscriptions` to the Azure subscription ids whose Logic Apps to read');
  }
  for (const s of subs) {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s)) {
      throw new ScanFailure('config', `subscription \`${s.slice(0, 60)}\` is not a subscription id (a GUID)`);
    }
  }
  return { subs, credential: given.credential || 'arm' };
}

function request(url, credential) {
  return { method: 'GET', url, headers: [{ name: 'accept', value: 'application/json' }], body: undefined, credential };
}

function armError(bytes) {
  try {
    const err = JSON.parse(decode(bytes)).error || {};
    return `${err.code || 'unknown'}: ${String(err.message || '').slice(0, 200)}`;
  } catch (_) {
    return 'no error body';
  }
}

// Every subscription's workflows: Map sub -> { workflows, why } (why: set
// when the list could not be read to its end).
function readAll(subs, credential) {
  const out = new Map(subs.map((s) => [s, { workflows: [], why: undefined }]));
  let pending = new Map(
    subs.map((s) => [s, `https://${ARM_HOST}/subscriptions/${s}/providers/Microsoft.Logic/workflows?api-version=${API_VERSION}`]),
  );
  for (let page = 0; pending.size > 0; page++) {
    if (page === MAX_PAGES) {
      for (const s of pending.keys()) out.get(s).why = `more than ${MAX_PAGES} pages; the rest was not read`;
      break;
    }
    const order = [...pending.keys()];
    const answers = sendAll(order.map((s) => request(pending.get(s), credential)));
    pending = new Map();
    order.forEach((sub, i) => {
      const entry = out.get(sub);
      const answer = answers[i];
      if (answer.tag === 'err') {
        entry.why = `the request failed: ${answer.val.val}`;
        return;
      }
      const resp = answer.val;
      if (resp.status !== 200) {
        entry.why = `HTTP ${resp.status}: ${armError(resp.body)}`;
        return;
      }
      let body;
      try {
        body = JSON.parse(decode(resp.body));
      } catch (_) {
        throw new ScanFailure('upstream', `subscription ${sub}: the Logic Apps list is not JSON`);
      }
      if (!body || !Array.isArray(body.value)) {
        throw new ScanFailure('malformed', `subscription ${sub}: the Logic Apps list has no \`value\` array`);
      }
      entry.workflows.push(...body.value.filter((w) => w && typeof w === 'object'));
      // A next link is text from the network: follow it only to the same
      // service, never wherever it points.
      const next = typeof body.nextLink === 'string' ? parseUrl(body.nextLink) : undefined;
      if (next && next.scheme === 'https' && next.host === ARM_HOST) pending.set(sub, body.nextLink);
    });
    progress(BigInt(subs.length - pending.size), BigInt(subs.length), 'subscriptions');
  }
  return out;
}

// ---- walking a definition ----

// Every action of a definition, nested ones included, with its path
// (`Scope_1/If_2/else/Send`), depth first in the designer's order.
function* actionsOf(actions, path, depth) {
  if (!actions || typeof actions !== 'object') return;
  if (depth > MAX_DEPTH) throw new ScanFailure('malformed', `actions nested deeper than ${MAX_DEPTH} levels at ${path}`);
  for (const [name, action] of Object.entries(actions)) {
    if (!action || typeof action !== 'object') continue;
    const here = path ? `${path}/${name}` : name;
    yield [here, action];
    yield* actionsOf(action.actions, here, depth + 1);
    if (action.else) yield* actionsOf(action.else.actions, `${here}/else`, depth + 1);
    if (action.default) yield* actionsOf(action.default.actions, `${here}/default`, depth + 1);
    for (const [caseName, branch] of Object.entries(action.cases || {})) {
      yield* actionsOf(branch && branch.actions, `${here}/${caseName}`, depth + 1);
    }
  }
}

// The value of `@parameters('name')` (the whole string), from the workflow's
// parameter values or the definition's default; undefined for any other
// expression. Only plain strings: a secure parameter never comes back from ARM.
function resolve(value, workflow) {
  if (typeof value !== 'string') return undefined;
  const m = /^@parameters\('([^']+)'\)$/.exec(value.trim());
  if (!m) return value.startsWith('@') ? undefined : value;
  const props = workflow.properties || {};
  const given = (props.parameters || {})[m[1]];
  if (given && typeof given.value === 'string') return given.value;
  const declared = ((props.definition || {}).parameters || {})[m[1]];
  return declared && typeof declared.defaultValue === 'string' ? declared.defaultValue : undefined;
}

// A literal secret: text that is not an expression and not empty.
function literal(value) {
  return typeof value === 'string' && value.trim() !== '' && !value.trim().startsWith('@');
}

// The names of the secret fields of an HTTP action that hold literal text.
function literalSecrets(inputs) {
  const found = [];
  const auth = inputs.authentication;
  if (auth && typeof auth === 'object') {
    for (const field of ['password', 'secret', 'pfx', 'value']) {
      if (literal(auth[field])) found.push(`authentication.${field}`);
    }
  }
  for (const [header, value] of Object.entries(inputs.headers || {})) {
    const h = header.toLowerCase();
    if ((h === 'authorization' || h.includes('api-key') || h.includes('apikey') || h.includes('token')) && literal(value)) {
      found.push(`headers.${header}`);
    }
  }
  return found;
}

// The managed connectors (`teams`, `office365`, ...) a workflow's API
// connection actions use, from `$connections`.
function managedConnectors(workflow, actions) {
  const connections = ((((workflow.properties || {}).parameters || {}).$connections || {}).value) || {};
  const names = new Set();
  for (const [, action] of actions) {
    const type = String(action.type || '').toLowerCase();
    if (type !== 'apiconnection' && type !== 'apiconnectionwebhook') continue;
    const ref = String((((action.inputs || {}).host || {}).connection || {}).name || '');
    const m = /parameters\('\$connections'\)\['([^']+)'\]/.exec(ref);
    const conn = m && connections[m[1]];
    const api = conn && typeof conn.id === 'string' ? conn.id.split('/').pop().toLowerCase() : m ? m[1].toLowerCase() : undefined;
    if (api) names.add(api);
  }
  return [...names].sort();
}

// How a Request trigger is protected: OAuth policies, caller IP ranges, or
// the SAS signature in its URL alone.
function triggerAccess(workflow) {
  const triggers = ((workflow.properties || {}).accessControl || {}).triggers || {};
  if (Object.keys((triggers.openAuthenticationPolicies || {}).policies || {}).length > 0) return 'entra-oauth';
  if ((triggers.allowedCallerIpAddresses || []).length > 0) return 'ip-restricted';
  return 'sas-url';
}

// ---- assessing one workflow ----

function assess(sub, workflow, report) {
  const id = String(workflow.id || '').toLowerCase();
  const name = String(workflow.name || '?');
  const props = workflow.properties || {};
  const definition = props.definition || {};
  const enabled = String(props.state || 'Enabled').toLowerCase() === 'enabled';
  const rg = id.includes('/resourcegroups/') ? id.split('/resourcegroups/')[1].split('/')[0] : undefined;
  const key = `azure-logic-app:${id}`;
  const actions = [...actionsOf(definition.actions, '', 0)];
  const triggers = Object.entries(definition.triggers || {}).filter(([, t]) => t && typeof t === 'object');
  const requestTriggers = triggers.filter(([, t]) => String(t.type || '').toLowerCase() === 'request');
  const access = requestTriggers.length > 0 ? triggerAccess(workflow) : undefined;
  const connectors = managedConnectors(workflow, actions);
  const tags = workflow.tags || {};
  const owner = [tags.owner, tags.Owner, tags.OWNER, tags['created-by']].find((v) => typeof v === 'string' && v);
  const evidenceBase = { workflow: id };
  const findings = [];
  let retired = false;
  const references = [];

  for (const [path, action] of actions) {
    if (String(action.type || '').toLowerCase() !== 'http') continue;
    const inputs = action.inputs && typeof action.inputs === 'object' ? action.inputs : {};
    const secrets = literalSecrets(inputs);
    if (secrets.length > 0) {
      findings.push({
        checkId: SECRET, connectorKey: key, severity: 'high',
        title: `Logic App ${name} has a password written into its HTTP action ${path}`,
        detail: `HTTP action ${path} of Logic App ${name} carries ${secrets.join(', ')} as literal text in the workflow ` +
          'definition. Everyone with Reader on the workflow (and every export or template of it) can read it.',
        remediation: `Move the value into Azure Key Vault and read it with a Key Vault action, or into a secureString ` +
          `parameter of ${name}, and then rotate the credential: it has been readable in the definition.`,
        evidence: attrs({ ...evidenceBase, action: path, fields: secrets.join(',') }),
      });
    }
    const uri = resolve(inputs.uri, workflow);
    const url = uri === undefined ? undefined : parseUrl(uri);
    if (!url) continue;
    const target = urlKind(url);
    const refKey = `${key}:action:${path.toLowerCase()}`;
    const isRetired = target.startsWith('teams-');
    retired = retired || isRetired;
    const method = String(inputs.method || 'GET').toUpperCase();
    references.push({
      key: refKey, category: 'webhook-reference', name: `${path} in Logic App ${name}`, scope: id,
      owner, coOwners: [], purpose: `HTTP ${method} from Logic App ${name}`,
      authType: typeof (inputs.authentication || {}).type === 'string' ? inputs.authentication.type.toLowerCase() : 'url-secret',
      migrationState: isRetired ? 'legacy-retired' : target === 'workflow' ? 'workflow' : undefined,
      created: undefined, changed: undefined,
      attributes: attrs({
        subscription: sub, resource_group: rg, logic_app: name, logic_app_enabled: enabled, action: path, method,
        target, host: url.host, scheme: url.scheme, url_fingerprint: fingerprint(uri),
        url_from: uri === inputs.uri ? 'literal' : 'parameter',
      }),
    });
    const evidence = attrs({ ...evidenceBase, action: path, host: url.host, url_fingerprint: fingerprint(uri) });
    if (isRetired) {
      findings.push({
        checkId: RETIRED, connectorKey: refKey, severity: enabled ? 'high' : 'low',
        title: `Logic App ${name} posts to a retired Teams webhook (${path})`,
        detail: `HTTP action ${path} of Logic App ${name} posts to a Teams Incoming Webhook on ${url.host}. Office 365 ` +
          'connectors in Teams are retired (final rollout May 2026): what it posts is no longer delivered, and ' +
          `nobody is told.${enabled ? '' : ' The Logic App is disabled.'}`,
        remediation: `Replace action ${path} with the Microsoft Teams connector's "Post message in a chat or channel" ` +
          `action, or point it at a Workflows URL made from the Teams template "Post to a channel when a webhook ` +
          `request is received"; then run ${name} once and check the channel.`,
        evidence,
      });
    }
    if (url.scheme === 'http') {
      findings.push({
        checkId: PLAIN_HTTP, connectorKey: refKey, severity: 'medium',
        title: `Logic App ${name} sends data over plain HTTP (${path})`,
        detail: `HTTP action ${path} sends its request to ${url.host} without TLS.`,
        remediation: `Give action ${path} of Logic App ${name} an https:// URL.`,
        evidence,
      });
    }
  }

  if (access === 'sas-url') {
    findings.push({
      checkId: OPEN_TRIGGER, connectorKey: key, severity: enabled ? 'low' : 'info',
      title: `Logic App ${name} runs for anyone who holds its trigger URL`,
      detail: `Its request trigger${requestTriggers.length > 1 ? 's' : ''} (${requestTriggers.map(([n]) => n).join(', ')}) ` +
        'accept any caller whose URL carries the shared-access signature: no caller IP range and no ' +
        'Microsoft Entra authorization policy restrict it, and a leaked URL works until its key is regenerated.',
      remediation: `In Logic App ${name}, Settings, Workflow settings, restrict "Allowed inbound IP addresses" to the ` +
        'callers, or add an authorization policy (Microsoft Entra ID OAuth) for the request trigger.',
      evidence: attrs({ ...evidenceBase, triggers: requestTriggers.map(([n]) => n).join(',') }),
    });
  }

  report.connectors.push({
    key, category: 'workflow', name: `Logic App ${name}`, scope: id, owner, coOwners: [],
    purpose: `Azure Logic App with ${triggers.length} trigger${triggers.length === 1 ? '' : 's'} and ${actions.length} action${actions.length === 1 ? '' : 's'}`,
    authType: access || (triggers[0] ? String(triggers[0][1].type || 'unknown').toLowerCase() : undefined),
    migrationState: retired ? 'needs-migration' : undefined,
    created: undefined, changed: undefined,
    attributes: attrs({
      subscription: sub, resource_group: rg, location: workflow.location, state: props.state || 'Enabled',
      triggers: triggers.map(([n, t]) => `${n}:${String(t.type || '?').toLowerCase()}`).join(','),
      actions: actions.length, http_actions: actions.filter(([, a]) => String(a.type || '').toLowerCase() === 'http').length,
      managed_connectors: connectors.join(',') || undefined, trigger_access: access,
      created_time: props.createdTime, changed_time: props.changedTime,
    }),
  });
  report.connectors.push(...references);
  report.findings.push(...findings);
}

// ---- the exports ----

export function describe() {
  return {
    name: NAME,
    version: '0.1.0',
    description: 'Azure Logic Apps: HTTP actions posting to retired Teams webhooks, open request triggers, passwords in definitions',
    categories: ['workflow', 'webhook-reference'],
    capabilities: { httpHosts: [ARM_HOST], tcpTargets: [], fileDirs: [] },
    settings: [
      { name: 'subscriptions', kind: { tag: 'list' }, required: true, default: undefined, doc: 'the Azure subscription ids to read' },
      { name: 'credential', kind: { tag: 'text' }, required: false, default: 'arm', doc: 'the credential profile for https://management.azure.com/.default' },
    ],
    requiredPermissions: [
      { api: 'azure-role', name: 'Logic App Operator', why: 'read the Logic Apps of each subscription and their definitions (an Azure role on the subscription)', credentialSetting: undefined },
    ],
    watch: [],
  };
}

export function scan(ctx) {
  try {
    return scanAll(ctx);
  } catch (e) {
    // A thrown ScanFailure is the scan's error as it is; anything else (a
    // bug) is still reported as an error, not a trap.
    throw e instanceof ScanFailure ? e : new ScanFailure('other', `${NAME}: ${e && e.stack ? e.stack : e}`);
  }
}

function scanAll(ctx) {
  const { subs, credential } = settingsOf(ctx);
  const report = { connectors: [], findings: [] };
  // The host refuses a report over its budgets whole: each workflow is
  // assessed apart and kept only while the report stays within them, with
  // room left for the context records. The host counts its own JSON, so
  // the bytes here are an estimate with a margin.
  const budget = limits();
  const maxItems = budget.maxReportItems - 2 * subs.length;
  const maxBytes = Number(budget.maxReportBytes) * 0.8;
  let items = 0;
  let bytes = 0;
  for (const [sub, { workflows, why }] of readAll(subs, credential)) {
    const key = `${NAME}:subscription:${sub}`;
    let assessed = 0;
    for (const workflow of workflows) {
      const one = { connectors: [], findings: [] };
      assess(sub, workflow, one);
      const size = byteLength(JSON.stringify(one));
      const count = one.connectors.length + one.findings.length;
      if (items + count > maxItems || bytes + size > maxBytes) break;
      report.connectors.push(...one.connectors);
      report.findings.push(...one.findings);
      items += count;
      bytes += size;
      assessed += 1;
    }
    const cut = assessed < workflows.length;
    report.connectors.push({
      key, category: 'workflow', name: `Logic Apps of subscription ${sub}`, scope: sub, owner: undefined, coOwners: [],
      purpose: "How much of this subscription's Logic Apps were read", authType: undefined, migrationState: undefined,
      created: undefined, changed: undefined,
      attributes: attrs({ 'plumbline:record': 'context', logic_apps: workflows.length, assessed, complete: !why && !cut }),
    });
    if (cut) log('warn', `subscription ${sub}: ${workflows.length - assessed} Logic Apps left out to stay within the report budget`);
    if (why) {
      log('warn', `subscription ${sub}: ${why}`);
      report.findings.push({
        checkId: UNREADABLE, connectorKey: key, severity: 'info',
        title: `Cannot read the Logic Apps of subscription ${sub}`,
        detail: `Azure Resource Manager answered: ${why}`,
        remediation: `Give the app registration behind credential \`${credential}\` the Logic App Operator role on ` +
          `subscription ${sub} (Access control (IAM), Add role assignment).`,
        evidence: attrs({ subscription: sub }),
      });
    }
  }
  return report;
}

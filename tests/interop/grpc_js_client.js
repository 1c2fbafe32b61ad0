#!/usr/bin/env node
// An independent client of the gateway, written against the public protos with another gRPC stack
// (@grpc/grpc-js) than the gateway's own (C++), so that interop tests catch what a same-stack test
// would hide: wire names, enum values, TLS and mutual-TLS behaviour, status codes and messages.
//
// Usage (every path may be relative to the current directory):
//   node grpc_js_client.js --target=127.0.0.1:PORT --ca=ca.pem --cert=caller.pem --key=caller.key
//       [--protos=/work/main/protos] [--server-name=localhost] [--metadata=key:value ...]
//       [--purpose=PURPOSE_...]   (default PURPOSE_CITIZEN_SELF_SERVICE, acting for the person asked about)
//       [--insured-elsewhere=<resident_id>] [--household=<resident_id>] [--contributions=<resident_id>]
//       [--unknown=<resident_id>] [--bad-id=<string>]
//   node grpc_js_client.js --load-only [--protos=...]     only load the protos and check the services
//
// Each check runs when its option is given; the check that a call without a client certificate is
// refused always runs. Before any check the client must connect with its certificate: if it cannot
// (nothing listens, handshake refused) it says so and exits 1, so no refusal check passes vacuously.
// Prints one line per check, "PASS <check>: ..." or "FAIL <check>: ...", then "N passed, N failed".
// Exit status: 0 when every check passed, 1 when one failed, 2 for bad usage or unloadable protos.
// The whole run is bounded by 30 seconds.
'use strict';

const fs = require('fs');
const path = require('path');

const TOOLS_MODULES = path.join(__dirname, '..', '..', 'tools', 'node_modules');
const OVERALL_TIMEOUT_MS = 30000;
const CONNECT_TIMEOUT_MS = 5000;
const CALL_TIMEOUT_MS = 10000;

// grpc-js passes the target's host to TLS as the server name; for an IP literal target Node warns
// (DEP0123) on every connection. The certificate is still checked against the IP SAN: silence only that.
process.removeAllListeners('warning');
process.on('warning', (w) => { if (w.code !== 'DEP0123') console.error(`${w.name}: ${w.message}`); });

const startedAt = Date.now();
const overallTimer = setTimeout(() => {
  console.log(`FAIL overall: the run did not finish within ${OVERALL_TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, OVERALL_TIMEOUT_MS);

function usageError(message) {
  console.error(`grpc_js_client: ${message}`);
  console.error('usage: node grpc_js_client.js --target=HOST:PORT --ca=ca.pem --cert=caller.pem ' +
    '--key=caller.key [--protos=DIR] [--server-name=NAME] [--metadata=key:value] ' +
    '[--insured-elsewhere=ID] [--household=ID] [--contributions=ID] [--unknown=ID] [--bad-id=STRING]\n' +
    '       node grpc_js_client.js --load-only [--protos=DIR]');
  process.exit(2);
}

function requireTool(name) {
  const where = path.join(TOOLS_MODULES, name);
  try {
    return require(where);
  } catch (e) {
    console.error(`grpc_js_client: cannot load ${name} from ${where}: ${e.message}\n` +
      'Install the pinned Node tools first: npm ci --prefix tools   (from the repository root)');
    process.exit(2);
  }
}

// ---------------------------------------------------------------------------------------------
// Command line.

const KNOWN = new Set(['target', 'ca', 'cert', 'key', 'protos', 'server-name', 'metadata', 'purpose',
  'insured-elsewhere', 'household', 'contributions', 'unknown', 'bad-id', 'load-only', 'help']);
const opts = { metadata: [] };
for (const arg of process.argv.slice(2)) {
  const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
  if (!m || !KNOWN.has(m[1])) usageError(`unknown argument: ${arg}`);
  const [, name, value] = m;
  if (name === 'help') usageError('help');
  if (name === 'load-only') { opts.loadOnly = true; continue; }
  if (value === undefined) usageError(`--${name} needs a value (--${name}=...)`);
  if (name === 'metadata') opts.metadata.push(value);
  else opts[name] = value;
}
opts.protos = path.resolve(opts.protos || path.join(__dirname, '..', '..', 'protos'));

// ---------------------------------------------------------------------------------------------
// Protos.

const grpc = requireTool('@grpc/grpc-js');
const protoLoader = requireTool('@grpc/proto-loader');

const PROTO_FILES = [
  'interop/medical/v1/medical.proto',
  'interop/social/v1/social.proto',
  'interop/household/v1/household.proto',
];
let services;
try {
  for (const f of PROTO_FILES) {
    if (!fs.existsSync(path.join(opts.protos, f))) throw new Error(`${f} not found under ${opts.protos}`);
  }
  const definition = protoLoader.loadSync(PROTO_FILES, {
    includeDirs: [opts.protos],
    keepCase: false, // fields in camelCase everywhere: residentId, insuredCity, addressCode
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition);
  services = {
    medical: pkg.interop.medical.v1.MedicalInsuranceService,
    social: pkg.interop.social.v1.SocialSecurityService,
    household: pkg.interop.household.v1.HouseholdRegistrationService,
  };
  const expectMethod = (svc, svcName, method) => {
    if (typeof svc !== 'function' || !svc.service || !svc.service[method]) {
      throw new Error(`${svcName}.${method} not found in the loaded protos`);
    }
  };
  expectMethod(services.medical, 'interop.medical.v1.MedicalInsuranceService', 'GetInsuranceStatus');
  expectMethod(services.social, 'interop.social.v1.SocialSecurityService', 'GetContributionHistory');
  expectMethod(services.household, 'interop.household.v1.HouseholdRegistrationService', 'GetHouseholdRecord');
} catch (e) {
  console.error(`grpc_js_client: cannot load the protos from ${opts.protos}: ${e.message}`);
  process.exit(2);
}

if (opts.loadOnly) {
  console.log(`PASS load: ${PROTO_FILES.length} protos from ${opts.protos}; services ` +
    'MedicalInsuranceService, SocialSecurityService, HouseholdRegistrationService');
  console.log('1 passed, 0 failed');
  clearTimeout(overallTimer);
  process.exit(0);
}

for (const name of ['target', 'ca', 'cert', 'key']) {
  if (!opts[name]) usageError(`--${name} is required`);
}
function readFile(option) {
  try {
    return fs.readFileSync(path.resolve(opts[option]));
  } catch (e) {
    return usageError(`--${option}: cannot read ${opts[option]}: ${e.message}`);
  }
}
const caPem = readFile('ca');
const certPem = readFile('cert');
const keyPem = readFile('key');

const metadata = new grpc.Metadata();
for (const kv of opts.metadata) {
  const i = kv.indexOf(':');
  if (i <= 0) usageError(`--metadata wants key:value, got ${kv}`);
  metadata.add(kv.slice(0, i).trim().toLowerCase(), kv.slice(i + 1));
}

// ---------------------------------------------------------------------------------------------
// Calls.

const channelOptions = { 'grpc.use_local_subchannel_pool': 1 };
if (opts['server-name']) {
  channelOptions['grpc.ssl_target_name_override'] = opts['server-name'];
  channelOptions['grpc.default_authority'] = opts['server-name'];
}
const withCert = grpc.credentials.createSsl(caPem, keyPem, certPem);
const clients = {
  medical: new services.medical(opts.target, withCert, channelOptions),
  social: new services.social(opts.target, withCert, channelOptions),
  household: new services.household(opts.target, withCert, channelOptions),
};

function deadline(ms) {
  const left = OVERALL_TIMEOUT_MS - (Date.now() - startedAt) - 500;
  return new Date(Date.now() + Math.max(0, Math.min(ms, left)));
}

// Resolves to { err, res } whatever happens: checks decide what is expected.
function call(client, method, request, timeoutMs = CALL_TIMEOUT_MS) {
  return new Promise((resolve) => {
    client[method](request, metadata, { deadline: deadline(timeoutMs) }, (err, res) => resolve({ err, res }));
  });
}

function statusText(err) {
  const name = Object.keys(grpc.status).find((k) => grpc.status[k] === err.code) || 'UNKNOWN_CODE';
  const details = String(err.details || err.message).replace(/\s+/g, ' ').replace(/ ?Resolution note: ?$/, '');
  return `${err.code} ${name}: ${details}`;
}

const CODES = grpc.status;
let passed = 0;
let failed = 0;
function pass(check, info) { passed += 1; console.log(`PASS ${check}: ${info}`); }
function fail(check, info) { failed += 1; console.log(`FAIL ${check}: ${info}`); }

function cityOf(cityInfo) {
  return cityInfo && cityInfo.city ? cityInfo.city : 'CITY_UNSPECIFIED';
}
function cityIsSet(cityInfo) {
  return cityOf(cityInfo) !== 'CITY_UNSPECIFIED';
}
// The gateway answers with the 18-character form; for an 18-character input that is the input
// with a lower-case check "x" made upper-case.
// Every call to a personal record states its purpose; by default the client acts as the citizen
// portal for the very person it asks about (--purpose overrides the purpose).
function personRequest(id) {
  return {
    person: { residentId: id },
    access: { purpose: opts.purpose || 'PURPOSE_CITIZEN_SELF_SERVICE', onBehalfOfResidentId: id },
  };
}

function expectedResidentId(input) {
  return input.length === 18 ? input.toUpperCase() : null;
}

async function checkConnect() {
  const ready = await new Promise((resolve) => {
    clients.medical.waitForReady(deadline(CONNECT_TIMEOUT_MS), (err) => resolve(err));
  });
  if (!ready) {
    pass('connect', `mutual TLS to ${opts.target} with ${opts.cert}`);
    return true;
  }
  // Say why: one call without waiting gives gRPC's own account (refused, handshake failure, ...).
  const { err } = await call(clients.medical, 'getInsuranceStatus', personRequest(''), 2000);
  const why = err ? statusText(err) : ready.message;
  fail('connect', `cannot connect to ${opts.target} with client certificate ${opts.cert} within ` +
    `${CONNECT_TIMEOUT_MS / 1000} s (${why}); is the gateway running there, and does it accept this certificate?`);
  return false;
}

async function checkInsuredElsewhere(id) {
  const check = `insured-elsewhere ${id}`;
  const { err, res } = await call(clients.medical, 'getInsuranceStatus', personRequest(id));
  if (err) return fail(check, `GetInsuranceStatus: ${statusText(err)}`);
  const want = expectedResidentId(id);
  if (want !== null ? res.residentId !== want : !/^\d{17}[\dX]$/.test(res.residentId)) {
    return fail(check, `residentId is "${res.residentId}", want "${want || '18 characters'}"`);
  }
  if (!cityIsSet(res.insuredCity)) return fail(check, `insuredCity.city is ${cityOf(res.insuredCity)}`);
  return pass(check, `insured in ${res.insuredCity.city} (${res.insuredCity.divisionCode}), ` +
    `region ${res.insuredRegionCode}, ${res.insuranceType}, ${res.status}`);
}

async function checkContributions(id) {
  const check = `contributions ${id}`;
  const { err, res } = await call(clients.social, 'getContributionHistory', personRequest(id));
  if (err) return fail(check, `GetContributionHistory: ${statusText(err)}`);
  const entries = res.entries || [];
  if (entries.length === 0) return fail(check, 'entries is empty');
  for (const [i, e] of entries.entries()) {
    if (!cityIsSet(e.city)) return fail(check, `entries[${i}].city.city is ${cityOf(e.city)}`);
    if (!(e.year > 0)) return fail(check, `entries[${i}].year is ${e.year}`);
    if (!(e.months > 0)) return fail(check, `entries[${i}].months is ${e.months}`);
  }
  const cities = [...new Set(entries.map((e) => e.city.city))].join(', ');
  return pass(check, `${entries.length} entries from ${cities}; ` +
    `${res.totalPensionMonths} pension months`);
}

async function checkHousehold(id) {
  const check = `household ${id}`;
  const { err, res } = await call(clients.household, 'getHouseholdRecord', personRequest(id));
  if (err) return fail(check, `GetHouseholdRecord: ${statusText(err)}`);
  if (!cityIsSet(res.registeredCity)) return fail(check, `registeredCity.city is ${cityOf(res.registeredCity)}`);
  if (!/^\d{6}$/.test(res.addressCode)) return fail(check, `addressCode is "${res.addressCode}", want 6 digits`);
  return pass(check, `registered in ${res.registeredCity.city}, address code ${res.addressCode}`);
}

async function checkUnknown(id) {
  const check = `unknown ${id}`;
  const { err } = await call(clients.medical, 'getInsuranceStatus', personRequest(id));
  if (!err) return fail(check, 'GetInsuranceStatus succeeded; want NOT_FOUND (5)');
  if (err.code !== CODES.NOT_FOUND) return fail(check, `got ${statusText(err)}; want NOT_FOUND (5)`);
  return pass(check, statusText(err));
}

async function checkBadId(id) {
  const check = `bad-id "${id}"`;
  const { err } = await call(clients.medical, 'getInsuranceStatus', personRequest(id));
  if (!err) return fail(check, 'GetInsuranceStatus succeeded; want INVALID_ARGUMENT (3)');
  if (err.code !== CODES.INVALID_ARGUMENT) return fail(check, `got ${statusText(err)}; want INVALID_ARGUMENT (3)`);
  const text = `${err.details || ''} ${err.message || ''}`;
  if (!text.includes('resident_id')) return fail(check, `status message "${err.details}" does not name resident_id`);
  // The rich error model: a google.rpc.Status with a BadRequest naming the field, in the trailer.
  const details = err.metadata ? err.metadata.get('grpc-status-details-bin') : [];
  const bytes = details.length > 0 ? Buffer.from(details[0]) : Buffer.alloc(0);
  if (!bytes.includes('type.googleapis.com/google.rpc.BadRequest') || !bytes.includes('person.resident_id')) {
    return fail(check, 'no google.rpc.BadRequest naming person.resident_id in grpc-status-details-bin');
  }
  return pass(check, `${statusText(err)}; BadRequest names person.resident_id`);
}

async function checkNoClientCertificate() {
  const check = 'no-client-certificate';
  const client = new services.medical(opts.target, grpc.credentials.createSsl(caPem), channelOptions);
  // A syntactically valid id, so that only the missing certificate can be the reason for a refusal.
  const id = opts['insured-elsewhere'] || opts.household || opts.contributions || '11010519491231002X';
  try {
    const { err, res } = await call(client, 'getInsuranceStatus', personRequest(id));
    if (!err) return fail(check, `a call without a client certificate succeeded (residentId ${res.residentId})`);
    return pass(check, `refused: ${statusText(err)}`);
  } finally {
    client.close();
  }
}

async function main() {
  if (await checkConnect()) {
    if (opts['insured-elsewhere'] !== undefined) await checkInsuredElsewhere(opts['insured-elsewhere']);
    if (opts.contributions !== undefined) await checkContributions(opts.contributions);
    if (opts.household !== undefined) await checkHousehold(opts.household);
    if (opts.unknown !== undefined) await checkUnknown(opts.unknown);
    if (opts['bad-id'] !== undefined) await checkBadId(opts['bad-id']);
    await checkNoClientCertificate();
  }
  for (const c of Object.values(clients)) c.close();
  console.log(`${passed} passed, ${failed} failed`);
  clearTimeout(overallTimer);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main().catch((e) => {
  console.log(`FAIL internal: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});

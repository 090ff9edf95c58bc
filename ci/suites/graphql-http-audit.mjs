// Runs every server audit of the `graphql-http` package (the GraphQL-over-HTTP spec's audit
// suite) against one GraphQL endpoint and prints each result with its level and status.
//
//   node ci/suites/graphql-http-audit.mjs http://127.0.0.1:PORT/graphql
//
// Normally started by ci/suites/graphql-http.sh, which installs the package into
// ci/suites/.node (override with GRAPHQL_HTTP_NODE_DIR) and starts the server.
// Exit status: 0 when every MUST and SHOULD audit is ok, 1 when any fails (a SHOULD that
// graphql-http only "warns" about counts as a failure), 2 on a fatal problem (the server could
// not be reached, the package is missing).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const url = process.argv[2];
if (!url || !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//.test(url)) {
  console.error('usage: node graphql-http-audit.mjs http://127.0.0.1:PORT/graphql (loopback only)');
  process.exit(2);
}
const nodeDir = process.env.GRAPHQL_HTTP_NODE_DIR || join(dirname(fileURLToPath(import.meta.url)), '.node');
const entry = join(nodeDir, 'node_modules', 'graphql-http', 'lib', 'index.mjs');
if (!existsSync(entry)) {
  console.error(`graphql-http is not installed in ${nodeDir}; run bash ci/suites/graphql-http.sh`);
  process.exit(2);
}
const { serverAudits } = await import(pathToFileURL(entry).href);

// Every fetch of an audit is bounded, so a hanging server cannot hang CI.
const TIMEOUT_MS = Number(process.env.AUDIT_TIMEOUT_MS || 10000);
const fetchFn = (input, init = {}) => fetch(input, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });

const LEVELS = ['MUST', 'SHOULD', 'MAY'];
const levelOf = (name) => LEVELS.find((l) => name.startsWith(`${l} `)) ?? 'MAY';
const counts = Object.fromEntries(LEVELS.map((l) => [l, { total: 0, ok: 0, failed: 0 }]));
const failures = [];

async function describe(res) {
  if (!res) return '';
  let body = '';
  try {
    body = await res.text();
  } catch {
    body = '<body already read>';
  }
  if (body.length > 600) body = `${body.slice(0, 600)}…`;
  const ct = res.headers.get('content-type') ?? '<none>';
  return `HTTP ${res.status}, content-type: ${ct}, body: ${body}`;
}

let fatal = false;
for (const audit of serverAudits({ url, fetchFn })) {
  const level = levelOf(audit.name);
  counts[level].total++;
  let result;
  try {
    result = await audit.fn();
  } catch (err) {
    // graphql-http throws (rather than failing the audit) only on fatal problems.
    result = { id: audit.id, name: audit.name, status: 'error', reason: `fatal: ${err?.message ?? err}` };
    fatal = true;
  }
  if (result.status === 'ok') {
    counts[level].ok++;
    console.log(`ok     ${level.padEnd(6)} ${result.id} ${result.name}`);
  } else {
    counts[level].failed++;
    const detail = await describe(result.response);
    // graphql-http's own words: error (MUST), warn (SHOULD), notice (MAY).
    console.log(`FAIL   ${level.padEnd(6)} ${result.id} ${result.name}`);
    console.log(`         ${result.status}: ${result.reason}`);
    if (detail) console.log(`         ${detail}`);
    failures.push({ level, ...result, detail });
  }
}

console.log('\ngraphql-http server audit summary:');
for (const l of LEVELS) {
  const c = counts[l];
  console.log(`  ${l.padEnd(6)} ${c.ok}/${c.total} ok${c.failed ? `, ${c.failed} failed` : ''}`);
}
const blocking = failures.filter((f) => f.level !== 'MAY');
if (blocking.length) {
  console.log(`\n${blocking.length} MUST/SHOULD audit(s) failed:`);
  for (const f of blocking) console.log(`  ${f.id} ${f.name} -- ${f.reason}`);
}
const may = failures.filter((f) => f.level === 'MAY');
if (may.length) console.log(`(${may.length} MAY audit(s) not met; informational only)`);
process.exit(fatal ? 2 : blocking.length ? 1 : 0);

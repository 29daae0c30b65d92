// A PostgreSQL database for a test's wxtodo, as the Go tests get one
// (db/dbtest): a schema of its own in the cluster TEST_DATABASE_URL names
// (CI exports it: .ci/run starts a throwaway cluster), or else in a
// throwaway cluster started here from the local PostgreSQL binaries, as
// the postgres OS user when running as root. The schema (and the cluster)
// go away at the end. SQL goes through psql, from the same binaries: no
// npm package.
'use strict';

const { execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');

const run = promisify(execFile);

/** Where the PostgreSQL binaries are looked for first (as db/dbtest's PGBinDir). */
const PG_BIN = '/usr/lib/postgresql/15/bin';

function which(name) {
  for (const dir of [PG_BIN, ...(process.env.PATH || '').split(path.delimiter)]) {
    if (dir && fs.existsSync(path.join(dir, name))) {
      return path.join(dir, name);
    }
  }
  return '';
}

/**
 * Why there can be no PostgreSQL here, or '' when there can: without
 * TEST_DATABASE_URL that needs initdb, pg_ctl and psql; with it, psql.
 */
function unavailable() {
  const need = process.env.TEST_DATABASE_URL ? ['psql'] : ['initdb', 'pg_ctl', 'psql'];
  const missing = need.filter((b) => !which(b));
  if (missing.length === 0) {
    return '';
  }
  return `no PostgreSQL: set TEST_DATABASE_URL or install the server binaries (${PG_BIN}); missing ${missing.join(', ')}`;
}

const asPostgres = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a PostgreSQL binary, as the postgres OS user when this is root. */
function pg(bin, args) {
  const file = which(bin);
  if (asPostgres()) {
    return run('runuser', ['-u', 'postgres', '--', file, ...args]);
  }
  return run(file, args);
}

async function freePort() {
  const net = require('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** initdb and pg_ctl start in a temporary directory, as db/dbtest's StartCluster. */
async function startCluster() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxtodo-mp-pg-'));
  try {
    if (asPostgres()) {
      const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
      fs.chownSync(dir, uid, gid);
    }
    const data = path.join(dir, 'data');
    await pg('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale=C']);
    const port = await freePort();
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    try {
      await pg('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']);
    } catch (err) {
      const log = fs.existsSync(path.join(dir, 'log')) ? fs.readFileSync(path.join(dir, 'log'), 'utf8') : '';
      throw new Error(`pg_ctl start: ${err.message}\n${log}`);
    }
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
      async remove() {
        await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Runs one SQL statement on the database at url with psql. */
function psql(url, sql) {
  return run(which('psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql]);
}

/**
 * A database for a test: { url, stop() }. url is a postgres:// URL whose
 * search_path is a fresh schema of the test's own (mp_<random hex>); stop()
 * drops it, and removes the cluster when this started one.
 */
async function startPostgres() {
  const why = unavailable();
  if (why) {
    throw new Error(why);
  }
  let cluster = null;
  let base = process.env.TEST_DATABASE_URL;
  if (!base) {
    cluster = await startCluster();
    base = cluster.url;
  }
  const schema = 'mp_' + crypto.randomBytes(6).toString('hex');
  try {
    await psql(base, `CREATE SCHEMA ${schema}`);
  } catch (err) {
    if (cluster) {
      await cluster.remove();
    }
    throw new Error(`create schema in ${base}: ${err.stderr || err.message}`);
  }
  const u = new URL(base);
  u.searchParams.set('search_path', schema);
  return {
    url: u.toString(),
    schema,
    async stop() {
      await psql(base, `DROP SCHEMA ${schema} CASCADE`).catch(() => {});
      if (cluster) {
        await cluster.remove();
      }
    },
  };
}

module.exports = { startPostgres, unavailable };

// Builds wxtodo from this repository and runs it for a test: development
// mode (the built-in WeChat mock: the same code is the same user) unless the
// test passes a fake WeChat's variables (wechat.js), SQLite in a temporary
// directory, a free loopback port. It can be restarted on the same port and
// database.
'use strict';

const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

/** The repository root: the directory above examples/ that holds go.mod. */
const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');

function goCommand() {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, 'go'))) {
      return path.join(dir, 'go');
    }
  }
  if (fs.existsSync('/usr/local/go/bin/go')) {
    return '/usr/local/go/bin/go';
  }
  throw new Error('go is not on PATH: the tests build wxtodo from ' + repoRoot);
}

/** Builds the server into dir and returns the binary's path. */
function buildServer(dir) {
  const goMod = path.join(repoRoot, 'go.mod');
  if (!fs.existsSync(goMod) || !/^module wxtodo\s*$/m.test(fs.readFileSync(goMod, 'utf8'))) {
    throw new Error('not the wxtodo repository: ' + repoRoot);
  }
  const bin = path.join(dir, 'wxtodo');
  execFileSync(goCommand(), ['build', '-o', bin, '.'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  return bin;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function getStatus(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(1000, () => req.destroy());
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs bin once on port with env and waits for GET /readyz. Returns the
 * running process ({ child, stderr(), isExited(), stop() }), or throws when
 * it exits or stays unready for 30 seconds (err.addressInUse when the port
 * was taken).
 */
async function spawnServer(bin, dir, port, env) {
  const child = spawn(bin, [], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s) => {
    stderr += s;
  });
  let exited = false;
  let exitStatus = '';
  const exitedPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = true;
      exitStatus = signal ? `killed by ${signal}` : `exit status ${code}`;
      resolve();
    });
    child.on('error', (err) => {
      // It did not start (no such file, not executable).
      exited = true;
      exitStatus = err.message;
      resolve();
    });
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const proc = {
    child,
    stderr: () => stderr,
    isExited: () => exited,
    /** Stops it by its PID: SIGTERM, SIGKILL after 5 seconds. */
    async stop() {
      process.off('exit', killOnExit);
      if (!exited) {
        process.kill(child.pid, 'SIGTERM');
        const timer = setTimeout(() => { if (!exited) process.kill(child.pid, 'SIGKILL'); }, 5000);
        await exitedPromise;
        clearTimeout(timer);
      }
    },
  };
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  while (!exited && Date.now() < deadline) {
    if ((await getStatus(base + '/readyz')) === 200) {
      return proc;
    }
    await sleep(50);
  }
  process.off('exit', killOnExit);
  if (!exited) {
    process.kill(child.pid, 'SIGKILL');
    await exitedPromise;
  }
  const err = new Error(`wxtodo (${bin}) did not become ready on port ${port} (${exitStatus || 'timed out'}):\n${stderr}`);
  err.addressInUse = /address already in use/.test(stderr);
  throw err;
}

/**
 * Starts a wxtodo server. env adds or overrides variables (e.g. SESSION_TTL,
 * or a fake WeChat's, see wechat.js). Returns { url, base, port, pid, log(),
 * restart(downtime), stop() }: restart() stops the process (SIGTERM, which closes
 * subscription sockets with 1012) and starts it again on the same port and
 * database, after downtime milliseconds; stop() kills it by its PID and
 * removes its temporary directory.
 */
async function startServer(env = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxtodo-miniprogram-test-'));
  let bin;
  try {
    bin = process.env.WXTODO_BIN || buildServer(dir);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const childEnv = { ...process.env };
    // Development mode: no WeChat credentials.
    delete childEnv.WECHAT_APPID;
    delete childEnv.WECHAT_SECRET;
    Object.assign(childEnv, {
      ADDR: `127.0.0.1:${port}`,
      DATABASE_URL: `sqlite:${path.join(dir, `wxtodo-${attempt}.db`)}`,
      LOG_LEVEL: 'warn',
      ...env,
    });
    let proc;
    try {
      proc = await spawnServer(bin, dir, port, childEnv);
    } catch (err) {
      lastError = err;
      if (err.addressInUse) {
        continue;
      }
      break;
    }
    let logs = '';
    const base = `http://127.0.0.1:${port}`;
    const server = {
      url: base + '/query',
      base,
      port,
      pid: proc.child.pid,
      log: () => logs + proc.stderr(),
      async restart(downtime = 0) {
        await proc.stop();
        logs += proc.stderr();
        proc = null;
        await sleep(downtime);
        proc = await spawnServer(bin, dir, port, childEnv);
        server.pid = proc.child.pid;
      },
      async stop() {
        if (proc) {
          await proc.stop();
        }
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
    return server;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

module.exports = { startServer, repoRoot, sleep };

// Builds wxtodo from this repository and runs it for a test: development
// mode (the built-in WeChat mock: the same code is the same user), SQLite in
// a temporary directory, a free loopback port.
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
 * Starts a wxtodo server. env adds or overrides variables (e.g. SESSION_TTL).
 * Returns { url, port, pid, stop(), log() }; stop() kills it by its PID and
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
    const child = spawn(bin, [], { cwd: dir, env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
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

    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30000;
    while (!exited && Date.now() < deadline) {
      if ((await getStatus(base + '/readyz')) === 200) {
        return {
          url: base + '/query',
          base,
          port,
          pid: child.pid,
          log: () => stderr,
          async stop() {
            process.off('exit', killOnExit);
            if (!exited) {
              process.kill(child.pid, 'SIGTERM');
              const timer = setTimeout(() => { if (!exited) process.kill(child.pid, 'SIGKILL'); }, 5000);
              await exitedPromise;
              clearTimeout(timer);
            }
            fs.rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      await sleep(50);
    }
    process.off('exit', killOnExit);
    if (!exited) {
      process.kill(child.pid, 'SIGKILL');
      await exitedPromise;
    }
    lastError = new Error(`wxtodo (${bin}) did not become ready on port ${port} (${exitStatus || 'timed out'}):\n${stderr}`);
    if (!/address already in use/.test(stderr)) {
      break;
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

module.exports = { startServer, repoRoot, sleep };

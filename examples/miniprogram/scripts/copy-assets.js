// Copies what the mini-program has beside its TypeScript (.wxml, .wxss,
// .json) from miniprogram/ to build/, next to the compiled .js, so that
// miniprogram-simulate can load a page from build/ (npm run build).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const src = path.join(__dirname, '..', 'miniprogram');
const dst = path.join(__dirname, '..', 'build');

function copy(dir) {
  for (const entry of fs.readdirSync(path.join(src, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      copy(rel);
    } else if (/\.(wxml|wxss|json)$/.test(entry.name)) {
      fs.mkdirSync(path.join(dst, dir), { recursive: true });
      fs.copyFileSync(path.join(src, rel), path.join(dst, rel));
    }
  }
}

copy('');

// SPDX-License-Identifier: MIT
// The npm package as a user gets it: `npm pack` of the source directory, then `npm install`
// of the tarball into an empty project, offline, which builds the addon with node-gyp against
// the local Node-API headers (--nodedir) and the libshmbuf pkg-config finds; the installed
// package then runs against a daemon. make check sets SHMBUF_NODE_SOURCE (the package
// source), SHMBUF_NODE_ROOT (the DESTDIR of a staged install of libshmbuf) and the
// directories of its shmbuf.pc and its library in there (SHMBUF_NODE_PKGCONFIGDIR,
// SHMBUF_NODE_LIBDIR).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const daemon = require('./daemon');

// The directory whose include/node holds the Node-API headers of this node.
function nodeDir() {
  const candidates = [process.config.variables.node_prefix,
    path.join(path.dirname(process.execPath), '..')];
  const found = candidates.find((d) => fs.existsSync(path.join(d, 'include/node/node_api.h')));
  assert.ok(found, `no Node-API headers in ${candidates.join(' or ')}`);
  return found;
}

const { dir } = daemon.forTests();

test('the packed tarball installs offline, builds, and works', () => {
  const source = process.env.SHMBUF_NODE_SOURCE;
  assert.ok(source, 'SHMBUF_NODE_SOURCE must name the package source');
  const env = {
    ...process.env,
    npm_config_cache: path.join(dir, 'npm-cache'),
    npm_config_update_notifier: 'false',
    PKG_CONFIG_SYSROOT_DIR: process.env.SHMBUF_NODE_ROOT,
    PKG_CONFIG_PATH: process.env.SHMBUF_NODE_PKGCONFIGDIR,
    LD_LIBRARY_PATH: process.env.SHMBUF_NODE_LIBDIR,
  };
  delete env.NODE_PATH; // the installed package, not the staged one
  const npm = (args, cwd) => execFileSync('npm', args, { cwd, env, encoding: 'utf8' });
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', dir, source], dir));
  const tarball = path.join(dir, packed[0].filename);
  assert.deepStrictEqual(packed[0].files.map((f) => f.path).sort(), ['binding.gyp',
    'lib/errors.js', 'lib/index.js', 'lib/validate.js', 'package.json', 'src/binding.c',
    'src/region.c', 'src/region.h']);

  const app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), '{"name": "app", "private": true}\n');
  npm(['install', '--offline', '--no-audit', '--no-fund', `--nodedir=${nodeDir()}`, tarball], app);
  assert.ok(fs.existsSync(path.join(app, 'node_modules/shmbuf/build/Release/shmbuf.node')));

  const program = `
    const shmbuf = require('shmbuf');
    const b = shmbuf.from('packed', 'latin1');
    const shared = shmbuf.import(shmbuf.share(b));
    console.log(require.resolve('shmbuf'), b instanceof Buffer, b.toString(), b.buffer.byteLength,
      shared.toString(), shmbuf.isReadOnly(shared));
  `;
  const out = execFileSync(process.execPath, ['-e', program], { cwd: app, env, encoding: 'utf8' });
  const installed = path.join(fs.realpathSync(app), 'node_modules/shmbuf/lib/index.js');
  assert.strictEqual(out, `${installed} true packed 8192 packed true\n`);
});

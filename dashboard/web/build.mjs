// Builds the dashboard into the folder given (default: dist): esbuild bundles src/app.js and
// src/app.css; MapLibre GL JS is copied as it ships and loaded on the map pages only. Every
// file is also written gzipped, and listed in manifest.tsv (name, content type, ETag) for the
// crate's build.rs.
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const out = path.resolve(process.argv[2] ?? 'dist');
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

// `virtual:locales`: every catalogue in src/i18n, so a new language is one new file.
const locales = {
  name: 'locales',
  setup(build) {
    build.onResolve({ filter: /^virtual:locales$/ }, () => ({ path: 'locales', namespace: 'locales' }));
    build.onLoad({ filter: /.*/, namespace: 'locales' }, () => {
      const dir = path.resolve('src/i18n');
      const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
      const imports = files.map((f, i) => `import l${i} from ${JSON.stringify(path.join(dir, f))};`);
      const entries = files.map((f, i) => `${JSON.stringify(path.basename(f, '.json'))}: l${i}`);
      return { contents: `${imports.join('\n')}\nexport default { ${entries.join(', ')} };`, resolveDir: dir, loader: 'js' };
    });
    // MapLibre stays a file of its own, next to app.js.
    build.onResolve({ filter: /maplibre-gl\.mjs$/ }, (args) => ({ path: args.path, external: true }));
  },
};

// Every language has every string, and every literal key the code asks for exists. Keys
// `indicator_<id>` are the one exception: the registry (analytics/src/registry.rs) names every
// indicator in English and Dutch, and a catalogue of another language names them itself.
{
  const dir = path.resolve('src/i18n');
  const cats = Object.fromEntries(fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => [f, JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))]));
  const en = Object.keys(cats['en.json']);
  const used = new Set();
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.js')) for (const m of fs.readFileSync(p, 'utf8').matchAll(/\bt\('([a-z0-9_]+)'/g)) used.add(m[1]);
    }
  };
  walk(path.resolve('src'));
  const problems = [...used].filter((k) => !en.includes(k)).map((k) => `en.json lacks "${k}"`);
  for (const [f, c] of Object.entries(cats)) {
    problems.push(...en.filter((k) => !(k in c)).map((k) => `${f} lacks "${k}"`));
    problems.push(...Object.keys(c).filter((k) => !en.includes(k) && !k.startsWith('indicator_')).map((k) => `${f} has "${k}", which en.json lacks`));
  }
  if (problems.length) {
    console.error(`dashboard strings:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
}

await esbuild.build({
  entryPoints: ['src/app.js', 'src/app.css'],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  outdir: out,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [locales],
});

const maplibre = path.resolve('node_modules/maplibre-gl/dist');
for (const f of ['maplibre-gl.mjs', 'maplibre-gl-worker.mjs', 'maplibre-gl.css']) {
  fs.copyFileSync(path.join(maplibre, f), path.join(out, f));
}
fs.copyFileSync('index.html', path.join(out, 'index.html'));

const types = { '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8' };
const rows = [];
let gzipped = 0;
for (const f of fs.readdirSync(out).sort()) {
  const body = fs.readFileSync(path.join(out, f));
  const gz = zlib.gzipSync(body, { level: 9 });
  fs.writeFileSync(path.join(out, `${f}.gz`), gz);
  if (f !== 'index.html') gzipped += gz.length;
  const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 20)}"`;
  rows.push([f, types[path.extname(f)] ?? 'application/octet-stream', etag].join('\t'));
}
fs.writeFileSync(path.join(out, 'manifest.tsv'), `${rows.join('\n')}\n`);
console.log(`dashboard: ${rows.length} files, ${(gzipped / 1024).toFixed(0)} KB of JavaScript and CSS gzipped`);

// Reads every table of a lake with nodejs-polars and hyparquet and prints,
// per table and reader, what readertest compares with the lake: the row
// count, the columns, the project ids, and a few values of the row with the
// smallest key. Usage: node read.mjs LAKE_DIR SPEC_JSON
// SPEC_JSON: [{"name", "key": [cols], "json": col|"", "time": col|"", "partitioned": bool}]
import fs from 'node:fs';
import path from 'node:path';
import pl from 'nodejs-polars';
import { parquetReadObjects } from 'hyparquet';
import { asyncBufferFromFile } from 'hyparquet/src/node.js';
import { compressors } from 'hyparquet-compressors';

const [dir, specText] = process.argv.slice(2);
const spec = JSON.parse(specText);

// canon turns a value of either reader into the text readertest compares.
function canon(v) {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return String(v.getTime());
  if (typeof v === 'bigint') return v.toString();
  return String(v);
}

function jsonCanon(v) {
  if (v === null || v === undefined) return null;
  // polars gives the text, hyparquet the parsed value.
  return JSON.stringify(typeof v === 'string' ? JSON.parse(v) : v);
}

function summarise(t, rows, columns) {
  const keyOf = (r) => t.key.map((k) => canon(r[k]) ?? '').join('\u001f');
  let first = null;
  for (const r of rows) if (first === null || keyOf(r) < keyOf(first)) first = r;
  const out = {
    rows: rows.length,
    columns: [...columns].sort(),
    projects: [...new Set(rows.map((r) => r.project_id))].sort(),
  };
  if (first) {
    out.key = keyOf(first);
    if (t.json) out.json = jsonCanon(first[t.json]);
    if (t.time) out.time = canon(first[t.time]);
    if (t.partitioned) out.dt = first.dt instanceof Date ? first.dt.toISOString().slice(0, 10) : canon(first.dt);
  }
  return out;
}

function withPolars(t) {
  const df = pl.scanParquet(path.join(dir, t.name, '**', '*.parquet'), { hivePartitioning: true }).collectSync();
  return summarise(t, df.toRecords(), df.columns);
}

function files(d) {
  const out = [];
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) out.push(...files(p));
    else if (e.name.endsWith('.parquet')) out.push(p);
  }
  return out.sort();
}

// hyparquet reads one file at a time; the Hive partition columns come from
// the path, unescaped the way Hive escapes them.
async function withHyparquet(t) {
  const rows = [];
  let columns = null;
  for (const f of files(path.join(dir, t.name))) {
    const part = {};
    for (const seg of path.relative(path.join(dir, t.name), path.dirname(f)).split(path.sep)) {
      const i = seg.indexOf('=');
      if (i > 0) part[decodeURIComponent(seg.slice(0, i))] = decodeURIComponent(seg.slice(i + 1));
    }
    const file = await asyncBufferFromFile(f);
    const got = await parquetReadObjects({ file, compressors });
    for (const r of got) {
      const row = { ...r, ...part };
      rows.push(row);
      columns ??= Object.keys(row);
    }
  }
  return summarise(t, rows, columns ?? []);
}

const result = {};
for (const t of spec) {
  result[t.name] = {};
  for (const [name, read] of [['polars', withPolars], ['hyparquet', withHyparquet]]) {
    try {
      result[t.name][name] = await read(t);
    } catch (e) {
      result[t.name][name] = { error: String(e && e.stack || e) };
    }
  }
}
process.stdout.write(JSON.stringify(result));

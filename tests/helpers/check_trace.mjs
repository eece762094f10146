// Imports a crossbench trace.json with Chromium's own trace importer (the
// DevTools Performance panel's trace engine, npm @paulirish/trace_engine) and
// prints, as JSON, what it made of it: every process with its threads and the
// number of slices the importer put on each, and its warnings.
//
//   node tests/helpers/check_trace.mjs ENGINE_DIR results/<run-id>/trace.json
//
// ENGINE_DIR is where `npm ci --ignore-scripts`, run on a copy of
// tests/helpers/trace-engine/package{,-lock}.json, put the engine (exact versions,
// integrity-checked; tests/phases.rs installs it into .cache/trace-engine).
import fs from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

const [engineDir, tracePath] = process.argv.slice(2);
if (!engineDir || !tracePath) {
  console.error('usage: node tests/helpers/check_trace.mjs ENGINE_DIR TRACE_JSON');
  process.exit(2);
}
const entry = path.join(engineDir, 'node_modules/@paulirish/trace_engine/models/trace/trace.js');
const Trace = await import(pathToFileURL(path.resolve(entry)).href);
// The engine uses window.DOMRect for layout events; Node has none (its README's advice).
globalThis.DOMRect ??= class DOMRect {
  constructor(x = 0, y = 0, width = 0, height = 0) { Object.assign(this, {x, y, width, height}); }
};
const doc = JSON.parse(fs.readFileSync(tracePath, 'utf8'));
const model = Trace.TraceModel.Model.createWithAllHandlers();
await model.parse(doc.traceEvents);
const data = model.parsedTrace()?.data;
if (!data) throw new Error(`${tracePath}: the trace engine produced no data`);
const names = data.Meta.processNames;
const processes = [...data.Renderer.processes].map(([pid, p]) => ({
  pid: Number(pid),
  name: names.get(pid)?.args?.name ?? null,
  threads: [...p.threads.values()].map(t => ({name: t.name ?? null, slices: t.entries?.length ?? 0})),
}));
console.log(JSON.stringify({processes, warnings: data.Warnings.perWarning.size}));

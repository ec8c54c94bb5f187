// node:test reporter used by scripts/test.mjs: one JSON line per test file, written
// when that file has finished, with its counts, the reasons of its skipped tests and
// the file's whole output as node's spec reporter prints it (shown on failure, or
// always with `npm test -- --verbose`).
//
//   {"file":"tests/x.test.ts","passed":3,"failed":0,"skipped":1,"reasons":{"why":1},"ms":812,"text":"..."}
//
// Counting follows node's own summary: suites are not tests, a todo test counts as
// skipped, a file that fails outside any test (a load error, a non-zero exit, a
// failing suite hook) counts as one failed test.
import { Readable } from "node:stream";
import { relative } from "node:path";
import { spec } from "node:test/reporters";

function newFile() {
  return { events: [], passed: 0, failed: 0, skipped: 0, reasons: {}, suiteFailed: false, fileError: false, ms: 0 };
}

async function render(f) {
  let text = "";
  for await (const chunk of Readable.from(f.events).compose(new spec())) text += chunk;
  return text;
}

export default async function* testReporter(source) {
  const files = new Map();
  const done = new Set();

  async function flush(name) {
    const f = files.get(name);
    files.delete(name);
    done.add(name);
    if (f.failed === 0 && (f.fileError || f.suiteFailed)) f.failed = 1;
    const line = {
      file: relative(process.cwd(), name),
      passed: f.passed,
      failed: f.failed,
      skipped: f.skipped,
      reasons: f.reasons,
      ms: Math.round(f.ms),
      text: await render(f),
    };
    return JSON.stringify(line) + "\n";
  }

  for await (const event of source) {
    const data = event.data ?? {};
    const name = data.file;
    if (!name || done.has(name)) continue;
    let f = files.get(name);
    if (!f) files.set(name, (f = newFile()));
    f.events.push(event);

    const fileLevel = data.nesting === 0 && data.name === name;
    if (fileLevel) {
      if (event.type === "test:fail") f.fileError = true;
      if (event.type === "test:complete") {
        f.ms = data.details?.duration_ms ?? 0;
        if (data.details?.error) f.fileError = true;
        yield await flush(name);
      }
      continue;
    }
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    if (data.details?.type === "suite") {
      if (event.type === "test:fail") f.suiteFailed = true;
      continue;
    }
    const skip = data.skip !== undefined && data.skip !== false;
    if (skip || data.todo) {
      f.skipped++;
      const reason = skip ? (typeof data.skip === "string" ? data.skip : "skipped") : "todo";
      f.reasons[reason] = (f.reasons[reason] ?? 0) + 1;
    } else if (event.type === "test:pass") f.passed++;
    else f.failed++;
  }
  // Node versions without a file-level test:complete event end here.
  for (const name of [...files.keys()]) yield await flush(name);
}

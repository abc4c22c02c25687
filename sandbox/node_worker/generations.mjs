// One Node process serving generation after generation of a plugin's worker (the sandbox's
// plugin_sandbox fixture; the host's end is sandbox/worker_generations.py, the why is in
// sandbox/spare_workers.py).
//
// The packages under node_modules, the SDK among them, load once. Each generation evaluates
// the worker's file anew (imported under a new URL) and is served by a new RPC host from the
// plugin's own SDK (startWorkerRpcHost), on a stream fed from stdin and a stream written to
// stdout. A worker file that imports other files of its own folder (not bundled into one
// file, as upstream's build does) is not served this way: those modules would be shared.
// (Node 20's module hooks, which could load them anew too, run in a thread of their own that
// does not fit the contained worker's address space.) When a generation has answered `shutdown` and left nothing running, the process
// writes END_OF_GENERATION to stderr, then stdout, and the next line on stdin must be
// NEXT_GENERATION; otherwise it exits as a worker does after `shutdown`. The plugin's
// runWorker(plugin, import.meta.url) starts nothing here: process.argv[1] stays this process's
// bootstrap, not the worker's file.
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, sep } from "node:path";
import { createInterface } from "node:readline";
import { PassThrough, Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import { reportFailures } from "./failure_reports.mjs";

const END_OF_GENERATION = '{"jsonrpc":"2.0","method":"sandbox/generation.ended"}\n';
const NEXT_GENERATION = '{"jsonrpc":"2.0","method":"sandbox/generation.next"}';
const SDK = join("node_modules", "@paperclipai", "plugin-sdk");

// The URL of the SDK the worker's folder (or a folder above it) has installed, or null.
function findSdk(entry) {
  for (let folder = dirname(entry); ; folder = dirname(folder)) {
    const manifest = join(folder, SDK, "package.json");
    if (existsSync(manifest)) {
      const target = JSON.parse(readFileSync(manifest, "utf8")).exports?.["."]?.import;
      return typeof target === "string" ? pathToFileURL(join(folder, SDK, target)).href : null;
    }
    if (dirname(folder) === folder) return null;
  }
}

// Whether the worker's file imports a file by a relative path (it is not bundled).
function importsOwnFiles(entry) {
  return /(?:\bfrom|\bimport|\brequire)\s*\(?\s*["'`]\.{1,2}\//.test(readFileSync(entry, "utf8"));
}

function activeResources() {
  const counts = new Map();
  for (const name of process.getActiveResourcesInfo()) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

function send(message) {
  process.stdout.write(JSON.stringify({ jsonrpc: "2.0", ...message }) + "\n");
}

// What the SDK does for a worker on the process's own streams, which it skips on ours.
function reportProcessErrors() {
  process.on("uncaughtException", (error) => {
    send({
      method: "log",
      params: { level: "error", message: `Uncaught exception: ${error.message}`, meta: { stack: error.stack } },
    });
    setTimeout(() => process.exit(1), 100);
  });
  process.on("unhandledRejection", (reason) => {
    const message = reason instanceof Error ? reason.message : String(reason);
    const stack = reason instanceof Error ? reason.stack : undefined;
    send({ method: "log", params: { level: "error", message: `Unhandled rejection: ${message}`, meta: { stack } } });
  });
}

function emptyPrivateFolder() {
  const folder = process.env.TMPDIR;
  if (!folder || !existsSync(folder)) return;
  for (const name of readdirSync(folder)) rmSync(join(folder, name), { recursive: true, force: true });
}

// Serve generations of the worker `entry`; false (having served nothing) when its folder has
// no SDK installed, it imports files of its own, or it has no default export from definePlugin.
export async function serveGenerations(entry) {
  const sdk = findSdk(entry);
  if (sdk === null || importsOwnFiles(entry)) return false;
  const { startWorkerRpcHost } = await import(sdk);
  const packageRoot = dirname(entry) + sep;
  const loadedModules = createRequire(import.meta.url).cache;
  let generation = 0;
  const load = async () => {
    generation += 1;
    const url = new URL(pathToFileURL(entry).href);
    url.searchParams.set("sandbox-generation", String(generation));
    return (await import(url.href)).default;
  };
  const first = await load();
  if (!first?.definition) return false;

  reportProcessErrors();
  let current = null;
  let waiting = false;
  const stdin = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for (const stream of [process.stdout, process.stderr]) stream.write(""); // open their handles
  const baseline = activeResources();

  // Whether the generation left nothing behind: no more handles than before, no CommonJS
  // module of the plugin (those are cached by path, so the next generation would share them).
  const clean = () => {
    for (const [name, count] of activeResources()) {
      if (count > (baseline.get(name) ?? 0)) return false;
    }
    return !Object.keys(loadedModules).some(
      (path) => path.startsWith(packageRoot) && !path.includes(`${sep}node_modules${sep}`),
    );
  };

  const end = () => {
    if (!clean()) process.exit(0);
    emptyPrivateFolder();
    process.stderr.write(END_OF_GENERATION);
    process.stdout.write(END_OF_GENERATION);
    current = null;
    waiting = true;
  };

  const start = (plugin) => {
    const state = { input: new PassThrough(), shutdowns: new Set() };
    const output = new Writable({
      write(chunk, encoding, done) {
        process.stdout.write(chunk, done);
        if (state.shutdowns.size === 0) return;
        let message = null;
        try {
          message = JSON.parse(chunk.toString());
        } catch {
          return;
        }
        if (message.method === undefined && state.shutdowns.has(message.id)) {
          setImmediate(end); // after the SDK's own clean-up, which it queued before answering
        }
      },
    });
    current = state;
    Promise.resolve(plugin).then((resolved) => {
      reportFailures(resolved);
      startWorkerRpcHost({ plugin: resolved, stdin: state.input, stdout: output });
    });
  };

  stdin.on("line", (line) => {
    if (waiting) {
      if (line !== NEXT_GENERATION) process.exit(0);
      waiting = false;
      start(load());
      return;
    }
    if (current === null) return;
    if (line.includes('"shutdown"')) {
      try {
        const message = JSON.parse(line);
        if (message.method === "shutdown") current.shutdowns.add(message.id);
      } catch {
        // not a message: the SDK answers it
      }
    }
    current.input.write(`${line}\n`);
  });
  stdin.on("close", () => process.exit(0));
  start(first);
  return true;
}

// How the sandbox starts a Node worker: `node <this file> <worker>`. It removes itself from
// process.argv, so the worker's runWorker(plugin, import.meta.url) sees the command line that
// Paperclip's own host gives it (`node <worker>`) and starts as usual; then, before the host's
// `initialize` can be read, it makes the handlers of the worker's default export report their
// failures with a stack (failure_reports.mjs). The plugin's code is not changed; a worker
// without a default export runs as it is, without these reports.
//
// With SANDBOX_WORKER_GENERATIONS=1 in its environment (the plugin_sandbox fixture), the
// process serves one generation of the worker after another instead (generations.mjs), when
// it can.
import { pathToFileURL } from "node:url";
import { reportFailures } from "./failure_reports.mjs";

const generations = process.env.SANDBOX_WORKER_GENERATIONS === "1";
delete process.env.SANDBOX_WORKER_GENERATIONS;
const serving = generations && (await (await import("./generations.mjs")).serveGenerations(process.argv[2]));
if (!serving) {
  process.argv.splice(1, 1);
  const module = await import(pathToFileURL(process.argv[1]).href);
  reportFailures(module.default);
}

// `sandbox bench author-tests` on upstream's own test harness (@paperclipai/plugin-sdk/testing):
// the test `sandbox plugin new` writes (a company, an agent, an issue assigned to it, add-note,
// the note checked), each iteration on a new in-memory harness. The bench copies this file into
// the JS plugin it generates and runs it there. One untimed warm-up, then argv[2] timed
// iterations; prints {"ms": [one figure per iteration]}.
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createTestHarness } from "@paperclipai/plugin-sdk/testing";
import manifest from "./manifest.mjs";
import plugin from "./worker.mjs";

async function authorTest() {
  const harness = createTestHarness({ manifest });
  await plugin.definition.setup(harness.ctx);
  const company = { id: randomUUID(), name: "Acme", issuePrefix: "ACM" };
  const agent = { id: randomUUID(), companyId: company.id, name: "Engineer", role: "engineer", status: "idle" };
  const issue = {
    id: randomUUID(),
    companyId: company.id,
    title: "Try the plugin",
    status: "todo",
    assigneeAgentId: agent.id,
    parentId: null,
  };
  harness.seed({ companies: [company], agents: [agent], issues: [issue] });
  const result = await harness.performAction(
    "add-note",
    { issueId: issue.id, body: "Hello" },
    { companyId: company.id },
  );
  // Upstream's ctx.db.execute runs no SQL: the check is on the statement it recorded.
  const [insert] = harness.dbExecutes;
  if (harness.dbExecutes.length !== 1 || insert.params[0] !== result.noteId || insert.params[1] !== issue.id) {
    throw new Error(`add-note recorded ${JSON.stringify(harness.dbExecutes)}, not the note ${result.noteId}`);
  }
}

const runs = Number(process.argv[2] ?? 100);
await authorTest();
const ms = [];
for (let i = 0; i < runs; i += 1) {
  const started = performance.now();
  await authorTest();
  ms.push(performance.now() - started);
}
process.stdout.write(JSON.stringify({ ms }));

// `sandbox bench host --against-upstream`: the same work through Paperclip's own host services.
//
// Run by Node from the folder where `@paperclipai/server` is installed (the sandbox's cache), on
// the PostgreSQL database named by the libpq variables PGHOST (the server's socket folder),
// PGPORT, PGUSER, PGPASSWORD and PGDATABASE. It migrates that database with upstream's own
// migrations, then answers one JSON line on stdout per JSON line read on stdin; each answer
// carries `"reply"` (upstream's modules may log on stdout too). Commands:
//
//   {"op": "creates", "count": N}    N sequential issues.create, each blocked by one issue and made
//                                     by an agent (as `sandbox bench host`); {"seconds": S}
//   {"op": "wakeups", "count": N}    N issues assigned to an agent (not timed), then N sequential
//                                     issues.requestWakeup on them; {"seconds": S}
//   {"op": "summary", "size": N, "repeats": R}
//                                     a subtree of N issues written in bulk (not timed), then R
//                                     getOrchestrationSummary calls; {"ms": [...]}
//   {"op": "written"}                rows the calls wrote, counted in the database
//
// and, for `sandbox bench plugins --against-upstream`, a JS plugin hosted by upstream's own
// worker manager, its host calls served by the same host services:
//
//   {"op": "worker", "manifest": PATH, "worker": PATH}
//                                     install (a plugin record) and start the plugin's worker
//   {"op": "noop", "warmup": W, "calls": N}
//                                     W, then N timed performAction calls of its `noop`;
//                                     {"us": [...]} (each call's microseconds)
//   {"op": "plugin_creates", "warmup": W, "count": N}
//                                     its `create-issues` action for W, then N creates (timed);
//                                     {"seconds": S, "pluginMs": M, "issues": I}, I counted after
//   {"op": "stop_worker"}
//
// The agent woken holds a run in status "running" (written in bulk), so that upstream's heartbeat
// queues the runs the wakeups ask for and starts none (at most one run at a time per agent by
// default), as the sandbox does: it queues them and starts none either.

import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { createInterface } from "node:readline";
import {
  activityLog,
  agents,
  applyPendingMigrations,
  companies,
  costEvents,
  createDb,
  heartbeatRuns,
  issueRelations,
  issues,
  plugins,
} from "@paperclipai/db";
import { and, count, eq, sql } from "drizzle-orm";

const PLUGIN_KEY = "sandbox.bench";
const url = `postgres:///${process.env.PGDATABASE}`;
await applyPendingMigrations(url);
const { buildHostServices } = await import(
  "./node_modules/@paperclipai/server/dist/services/plugin-host-services.js"
);
const { createPluginEventBus } = await import(
  "./node_modules/@paperclipai/server/dist/services/plugin-event-bus.js"
);
const db = createDb(url);
const manifest = {
  id: PLUGIN_KEY,
  apiVersion: 1,
  version: "0.1.0",
  displayName: "Sandbox bench",
  description: "The work of sandbox bench host",
  author: "paperclip-sandbox",
  categories: ["automation"],
  capabilities: ["issues.read", "issues.create", "issues.wakeup", "issues.orchestration.read"],
  entrypoints: { worker: "./worker.js" },
};
const [plugin] = await db
  .insert(plugins)
  .values({
    pluginKey: PLUGIN_KEY,
    packageName: PLUGIN_KEY,
    version: manifest.version,
    apiVersion: 1,
    categories: manifest.categories,
    manifestJson: manifest,
    status: "ready",
  })
  .returning();
const services = buildHostServices(db, plugin.id, PLUGIN_KEY, createPluginEventBus(), undefined, {
  manifest,
});

let companyNumber = 0;
async function benchCompany(name) {
  companyNumber += 1;
  const [company] = await db
    .insert(companies)
    // 2026.707.0 queues a run only when it can name a user responsible for it
    .values({ name, issuePrefix: `UPB${companyNumber}`, defaultResponsibleUserId: "bench-user" })
    .returning();
  const [agent] = await db
    .insert(agents)
    .values({ companyId: company.id, name: "Engineer", role: "engineer" })
    .returning();
  return { companyId: company.id, agentId: agent.id };
}

const creates = await benchCompany("Bench Creates");
const blocker = await services.issues.create({ companyId: creates.companyId, title: "Blocker" });
for (let n = 0; n < 10; n++) {
  await services.issues.create({
    companyId: creates.companyId,
    title: "warm",
    blockedByIssueIds: [blocker.id],
  });
}

async function timedCreates(total) {
  const started = performance.now();
  for (let n = 0; n < total; n++) {
    await services.issues.create({
      companyId: creates.companyId,
      title: `Benchmark issue ${n}`,
      status: "todo",
      blockedByIssueIds: [blocker.id],
      actorAgentId: creates.agentId,
    });
  }
  return { seconds: (performance.now() - started) / 1000 };
}

let wakeCompany = null;
async function timedWakeups(total) {
  if (wakeCompany === null) {
    wakeCompany = await benchCompany("Bench Wakeups");
    await db.insert(heartbeatRuns).values({
      companyId: wakeCompany.companyId,
      agentId: wakeCompany.agentId,
      status: "running",
      invocationSource: "on_demand",
    });
  }
  const { companyId, agentId } = wakeCompany;
  const ids = [];
  for (let n = 0; n < total + 10; n++) {
    const issue = await services.issues.create({
      companyId,
      title: `Wake ${n}`,
      status: "todo",
      assigneeAgentId: agentId,
    });
    ids.push(issue.id);
  }
  for (const issueId of ids.slice(0, 10)) await services.issues.requestWakeup({ issueId, companyId });
  const started = performance.now();
  for (const issueId of ids.slice(10)) {
    const result = await services.issues.requestWakeup({ issueId, companyId });
    if (!result.queued) throw new Error(`requestWakeup queued nothing for ${issueId}`);
  }
  return { seconds: (performance.now() - started) / 1000 };
}

// The tree of `sandbox.benchmarks.host_workload.subtree`: 4 children per node, a cost event per
// issue, a blocks relation every 5th issue, a run every 7th.
async function subtree(size) {
  const { companyId, agentId } = await benchCompany(`Bench Tree ${size}`);
  const ids = Array.from({ length: size }, () => randomUUID());
  const rows = {
    issues: ids.map((id, n) => ({
      id,
      companyId,
      parentId: n ? ids[Math.floor((n - 1) / 4)] : null,
      title: `Node ${n}`,
      status: "todo",
      priority: "medium",
      originKind: "manual",
      billingCode: "bench:alpha",
      assigneeAgentId: n % 2 ? agentId : null,
    })),
    costs: ids.map((issueId, n) => ({
      companyId,
      agentId,
      issueId,
      billingCode: n % 3 ? "bench:alpha" : "bench:beta",
      provider: "anthropic",
      model: "claude",
      costCents: 25,
      inputTokens: 1000,
      outputTokens: 200,
      occurredAt: new Date(),
    })),
    relations: [],
    runs: [],
  };
  for (let n = 1; n < size; n += 5) {
    rows.relations.push({ companyId, issueId: ids[n - 1], relatedIssueId: ids[n], type: "blocks" });
  }
  for (let n = 0; n < size; n += 7) {
    rows.runs.push({
      companyId,
      agentId,
      status: "succeeded",
      invocationSource: "assignment",
      contextSnapshot: { issueId: ids[n] },
    });
  }
  const tables = [
    [issues, rows.issues],
    [costEvents, rows.costs],
    [issueRelations, rows.relations],
    [heartbeatRuns, rows.runs],
  ];
  for (const [table, values] of tables) {
    for (let start = 0; start < values.length; start += 1000) {
      await db.insert(table).values(values.slice(start, start + 1000));
    }
  }
  // what the sandbox's side does after its bulk load too (Database.after_bulk_load)
  await db.execute(sql.raw("VACUUM ANALYZE issues, cost_events, issue_relations, heartbeat_runs"));
  return { companyId, rootId: ids[0] };
}

async function timedSummaries(size, repeats) {
  const { companyId, rootId } = await subtree(size);
  const once = async () => {
    const summary = await services.issues.getOrchestrationSummary({
      issueId: rootId,
      companyId,
      includeSubtree: true,
    });
    if (summary.subtreeIssueIds.length !== size) {
      throw new Error(`the summary holds ${summary.subtreeIssueIds.length} issues, not ${size}`);
    }
  };
  await once();
  const ms = [];
  for (let n = 0; n < repeats; n++) {
    const started = performance.now();
    await once();
    ms.push(performance.now() - started);
  }
  return { ms };
}

// Everything since the start, warm-up calls included: 11 issues, 10 relations and 11 creation
// activities before the first timed create.
async function written() {
  const countWhere = async (table, condition) =>
    (await db.select({ n: count() }).from(table).where(condition))[0].n;
  return {
    issues: await countWhere(issues, eq(issues.companyId, creates.companyId)),
    blockerRelations: await countWhere(issueRelations, eq(issueRelations.issueId, blocker.id)),
    createdActivity: await countWhere(
      activityLog,
      and(eq(activityLog.companyId, creates.companyId), eq(activityLog.action, "issue.created")),
    ),
  };
}

let hosted = null;
async function startWorker({ manifest: manifestPath, worker }) {
  const { createPluginWorkerManager } = await import(
    "./node_modules/@paperclipai/server/dist/services/plugin-worker-manager.js"
  );
  const { createHostClientHandlers } = await import("@paperclipai/plugin-sdk");
  const pluginManifest = (await import(pathToFileURL(manifestPath).href)).default;
  const [record] = await db
    .insert(plugins)
    .values({
      pluginKey: pluginManifest.id,
      packageName: pluginManifest.id,
      version: pluginManifest.version,
      apiVersion: pluginManifest.apiVersion,
      categories: pluginManifest.categories,
      manifestJson: pluginManifest,
      status: "ready",
    })
    .returning();
  const manager = createPluginWorkerManager();
  const notifyWorker = (method, params) => manager.getWorker(record.id)?.notify(method, params);
  const pluginServices = buildHostServices(
    db,
    record.id,
    pluginManifest.id,
    createPluginEventBus(),
    notifyWorker,
    { manifest: pluginManifest, pluginWorkerManager: manager },
  );
  await manager.startWorker(record.id, {
    entrypointPath: worker,
    manifest: pluginManifest,
    config: {},
    instanceInfo: { instanceId: "sandbox-bench", hostVersion: "0.0.0" },
    apiVersion: pluginManifest.apiVersion,
    hostHandlers: createHostClientHandlers({
      pluginId: record.id,
      capabilities: pluginManifest.capabilities,
      services: pluginServices,
    }),
  });
  const seed = await benchCompany("Bench Worker");
  const blockerIssue = await pluginServices.issues.create({
    companyId: seed.companyId,
    title: "Blocker",
  });
  hosted = { manager, pluginId: record.id, ...seed, blockerId: blockerIssue.id };
  return {};
}

async function timedNoops(warmup, calls) {
  const call = () =>
    hosted.manager.call(hosted.pluginId, "performAction", { key: "noop", params: { n: 1 } });
  for (let n = 0; n < warmup; n++) await call();
  const us = [];
  for (let n = 0; n < calls; n++) {
    const started = performance.now();
    await call();
    us.push((performance.now() - started) * 1000);
  }
  return { us };
}

async function pluginCreates(warmup, total) {
  const createIssues = (n) =>
    hosted.manager.call(hosted.pluginId, "performAction", {
      key: "create-issues",
      params: {
        count: n,
        companyId: hosted.companyId,
        blockerIssueId: hosted.blockerId,
        actorAgentId: hosted.agentId,
      },
    });
  await createIssues(warmup);
  const started = performance.now();
  const result = await createIssues(total);
  const seconds = (performance.now() - started) / 1000;
  const [{ n }] = await db
    .select({ n: count() })
    .from(issues)
    .where(eq(issues.companyId, hosted.companyId));
  return { seconds, pluginMs: result.elapsedMs, issues: n };
}

const commands = {
  creates: (command) => timedCreates(command.count),
  wakeups: (command) => timedWakeups(command.count),
  summary: (command) => timedSummaries(command.size, command.repeats),
  written: () => written(),
  worker: (command) => startWorker(command),
  noop: (command) => timedNoops(command.warmup, command.calls),
  plugin_creates: (command) => pluginCreates(command.warmup, command.count),
  stop_worker: async () => {
    await hosted.manager.stopAll();
    return {};
  },
};

console.log(JSON.stringify({ reply: "ready", node: process.version }));
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  const answer = await commands[command.op](command);
  console.log(JSON.stringify({ reply: command.op, ...answer }));
}
process.exit(0);

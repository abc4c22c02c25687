// Wraps a plugin definition so that an exception in one of its handlers is first reported as
// the sandbox's Python SDK reports it: a `log` error `<method> <key> failed: <name>: <message>`
// with meta {errorType, stack}, then rethrown unchanged (the SDK answers with its message).
// An error carrying a numeric `code` (a JSON-RPC error the host returned, a refusal on purpose)
// is rethrown without a report, as the SDK keeps its code.

// Definition hooks and the host-to-worker method each one serves.
const HOOK_METHODS = {
  setup: "initialize",
  onHealth: "health",
  onShutdown: "shutdown",
  onValidateConfig: "validateConfig",
  onConfigChanged: "configChanged",
  onWebhook: "handleWebhook",
  onApiRequest: "handleApiRequest",
};

function report(logger, label, error) {
  if (typeof error?.code === "number") return;
  const isError = error instanceof Error;
  const errorType = isError ? error.name : typeof error;
  const message = isError ? error.message : String(error);
  try {
    logger.error(`${label} failed: ${errorType}: ${message}`, {
      errorType,
      stack: (isError && error.stack) || `${errorType}: ${message}`,
    });
  } catch {
    // The report is a courtesy: never let it replace the plugin's own error.
  }
}

function guarded(logger, label, fn) {
  return async function (...args) {
    try {
      return await fn.apply(this, args);
    } catch (error) {
      report(logger, label, error);
      throw error;
    }
  };
}

// A client of ctx whose `method` wraps the handler it registers (its last function argument).
function registering(client, method, labelFor, logger) {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== method || typeof value !== "function") return value;
      return (...args) => {
        const index = args.findLastIndex((arg) => typeof arg === "function");
        if (index >= 0) args[index] = guarded(logger, labelFor(args[0]), args[index]);
        return value.apply(target, args);
      };
    },
  });
}

function reportingContext(ctx) {
  const clients = {
    actions: (logger) => registering(ctx.actions, "register", (key) => `performAction ${key}`, logger),
    data: (logger) => registering(ctx.data, "register", (key) => `getData ${key}`, logger),
    tools: (logger) => registering(ctx.tools, "register", (name) => `executeTool ${name}`, logger),
    jobs: (logger) => registering(ctx.jobs, "register", (key) => `runJob ${key}`, logger),
    events: (logger) => registering(ctx.events, "on", (name) => `onEvent ${name}`, logger),
  };
  const wrapped = new Map();
  return new Proxy(ctx, {
    get(target, property, receiver) {
      if (!Object.hasOwn(clients, property)) return Reflect.get(target, property, receiver);
      if (!wrapped.has(property)) wrapped.set(property, clients[property](target.logger));
      return wrapped.get(property);
    },
  });
}

function subjectOf(input) {
  return input?.routeKey ?? input?.endpointKey;
}

/**
 * Make the handlers of a plugin (`definePlugin`'s result) report their failures: its setup
 * gets a ctx whose registered handlers are wrapped, and its hooks are wrapped in place (the SDK
 * reads them from the definition when it calls them). Returns false, changing nothing, for
 * anything else or a frozen definition.
 */
export function reportFailures(plugin) {
  const definition = plugin?.definition;
  if (!definition || typeof definition.setup !== "function" || Object.isFrozen(definition)) {
    return false;
  }
  let logger = null;
  const setup = definition.setup;
  definition.setup = async function (ctx) {
    logger = ctx.logger;
    try {
      return await setup.call(this, reportingContext(ctx));
    } catch (error) {
      report(logger, "initialize", error);
      throw error;
    }
  };
  for (const [hook, method] of Object.entries(HOOK_METHODS)) {
    const original = definition[hook];
    if (hook === "setup" || typeof original !== "function") continue;
    definition[hook] = async function (...args) {
      try {
        return await original.apply(this, args);
      } catch (error) {
        const subject = subjectOf(args[0]);
        if (logger) report(logger, subject ? `${method} ${subject}` : method, error);
        throw error;
      }
    };
  }
  return true;
}

"""JavaScript globals the project's files run against: Dataform's `publish`, `declare`,
`assert`, `operate`, `test` and the SQLX registration, as recorders.

Each call records a spec: the config as given, the builder methods called on it (in
order), and the contextables (functions or strings) of its SQL parts. Python turns the
records into actions with Dataform's rules (actions.py) and asks this runtime to apply the
contextables, with a context whose `ref`/`resolve`/`self` ask Python back (`__wdCall`).

Kept as a Python constant so the package needs no data files to install.
"""

from __future__ import annotations

RUNTIME_JS = r"""
var __wdLine = 0;
// Dataform runs definitions in a sandbox whose eval is an ordinary function: the code it runs
// sees the global scope only, never the names a contextable binds.
globalThis.eval = (function (globalEval) {
  return function eval(code) { return globalEval(code); };
})(globalThis.eval);
var __wdSpecs = [];
var __wdFile = "";
var __wdFileLine = 0;
var dataform = { projectConfig: {} };

var __wdInvalidRef =
  "Invalid input. Accepted inputs include: a single object containing an (optional) " +
  "'database', (optional) 'schema', and 'name', or 1-3 inputs consisting of an (optional) " +
  "database, (optional) schema, and 'name'.";

// The line of the definitions file that is running now: its wrapper's frame in the stack.
function __wdCallerLine() {
  var stack = String(new Error().stack).split("\n");
  for (var i = 0; i < stack.length; i++) {
    var match = /at __wdDefinitionFile \(<input>:(\d+)\)/.exec(stack[i]);
    if (match) return Number(match[1]);
  }
  return __wdFileLine || __wdLine || 1;
}

function __wdData(value, what) {
  if (value === undefined) return undefined;
  return JSON.parse(JSON.stringify(value, function (key, inner) {
    if (typeof inner === "function") {
      throw new Error((key ? "config property '" + key + "'" : what) + " is a function; config values must be data");
    }
    return inner;
  }));
}

function __wdNewSpec(kind, name, config, line) {
  var spec = {
    record: { kind: kind, name: name, config: config, file: __wdFile, line: line, calls: [],
              hasQuery: false, hasWhere: false, pre: 0, post: 0, inputs: [], hasExpect: false,
              statementCount: 1 },
    query: undefined, where: undefined, pre: [], post: [], inputs: [], expect: undefined
  };
  __wdSpecs.push(spec);
  return spec;
}

function __wdSetQuery(spec, query) { spec.query = query; spec.record.hasQuery = query !== undefined && query !== null; }
function __wdAddOps(spec, part, ops) { spec[part].push(ops); spec.record[part] = spec[part].length; }
function __wdCallRecord(spec, method, args) {
  spec.record.calls.push([method, __wdData(Array.prototype.slice.call(args), "argument of ." + method + "()")]);
}

function __wdBuilder(spec) {
  var builder = {};
  var recorded = ["dependencies", "tags", "disabled", "description", "columns", "bigquery", "uniqueKey",
                  "protected", "hermetic", "schema", "database", "assertions", "hasOutput", "materialized",
                  "setDependOnDependencyAssertions", "dataset", "config"];
  // Dataform's hermetic(), materialized() and uniqueKey() return nothing: no chaining after them.
  var unchained = ["hermetic", "materialized", "uniqueKey"];
  recorded.forEach(function (method) {
    builder[method] = function () {
      __wdCallRecord(spec, method, arguments);
      return unchained.indexOf(method) >= 0 ? undefined : builder;
    };
  });
  builder.query = function (query) { __wdSetQuery(spec, query); return builder; };
  builder.queries = builder.query;
  builder.where = function (where) { spec.where = where; spec.record.hasWhere = where !== undefined; return builder; };
  builder.preOps = function (ops) { __wdAddOps(spec, "pre", ops); return builder; };
  builder.postOps = function (ops) { __wdAddOps(spec, "post", ops); return builder; };
  builder.expect = function (query) { spec.expect = query; spec.record.hasExpect = query !== undefined; return builder; };
  builder.input = function (refName, query) {
    spec.inputs.push(query);
    spec.record.inputs.push(__wdData(refName, "input name"));
    return builder;
  };
  builder.type = function () {
    throw new Error(".type() is not supported by this compiler: pass { type: ... } in the config instead");
  };
  builder.jitCode = function () {
    throw new Error(".jitCode() (just-in-time compilation) is not supported by this compiler");
  };
  return builder;
}

function __wdStartOps(spec, config) {
  if (config && typeof config === "object") {
    if (config.preOperations) __wdAddOps(spec, "pre", config.preOperations);
    if (config.postOperations) __wdAddOps(spec, "post", config.postOperations);
  }
}

function __wdApi(kind, name, queryOrConfig) {
  var config;
  var query;
  if (queryOrConfig && typeof queryOrConfig === "object" && !Array.isArray(queryOrConfig)) {
    config = __wdData(queryOrConfig, "config");
  } else if (queryOrConfig) {
    query = queryOrConfig;
  }
  var spec = __wdNewSpec(kind, name, config, __wdCallerLine());
  __wdStartOps(spec, config);
  if (query !== undefined) __wdSetQuery(spec, query);
  return __wdBuilder(spec);
}

function publish(name, queryOrConfig) { return __wdApi("publish", name, queryOrConfig); }
function operate(name, queryOrConfig) { return __wdApi("operate", name, queryOrConfig); }
function assert(name, queryOrConfig) { return __wdApi("assert", name, queryOrConfig); }
function declare(config) { return __wdBuilder(__wdNewSpec("declare", undefined, __wdData(config, "config"), __wdCallerLine())); }
function test(name) { return __wdBuilder(__wdNewSpec("test", name, undefined, __wdCallerLine())); }
function notebook() { throw new Error("notebook() actions are not supported by this compiler"); }
function jitData() { throw new Error("jitData() (just-in-time compilation) is not supported by this compiler"); }
function getContents() { throw new Error("getContents() is not supported by this compiler"); }

// One SQLX file: the parts Dataform's compiler cuts it into.
function __wdSqlx(parts) {
  var config = __wdData(parts.config(), "config");
  var spec = __wdNewSpec("sqlx", config.name, config, parts.configLine);
  spec.record.statementCount = parts.statementCount;
  __wdStartOps(spec, config);
  __wdSetQuery(spec, parts.sql);
  if (parts.where) { spec.where = parts.where; spec.record.hasWhere = true; }
  if (parts.pre) __wdAddOps(spec, "pre", parts.pre);
  if (parts.post) __wdAddOps(spec, "post", parts.post);
  spec.record.preBlock = !!parts.pre;
  spec.record.postBlock = !!parts.post;
  (parts.inputs || []).forEach(function (input) {
    spec.inputs.push(input.contextable);
    spec.record.inputs.push(input.refName);
  });
}

var __wdFailures = [];
function __wdFailed(position, error) {
  __wdFailures.push([position, String(error && error.name ? error.name + ": " + error.message : error), __wdLine || null]);
}

function __wdRecords() {
  return JSON.stringify(__wdSpecs.map(function (spec) { return spec.record; }));
}

function __wdResolvable(args) {
  var first = args[0];
  var rest = Array.prototype.slice.call(args, 1);
  if (Array.isArray(first) && rest.length > 0) throw new Error(__wdInvalidRef);
  if (rest.length === 0 && !Array.isArray(first)) {
    if (typeof first === "string" || (first && typeof first === "object")) return first;
    throw new Error(__wdInvalidRef);
  }
  var parts = (Array.isArray(first) ? first.slice() : [first].concat(rest)).reverse();
  if (parts.length < 1 || parts.length > 3 || parts.some(function (p) { return typeof p !== "string"; })) {
    throw new Error(__wdInvalidRef);
  }
  var out = { name: parts[0] };
  if (parts[1] !== undefined) out.schema = parts[1];
  if (parts[2] !== undefined) out.database = parts[2];
  return out;
}

// kind: table | view | incremental | assertion | operations | test | refs (a tested dataset's
// query, refs replaced by the test's inputs). Python answers ref/self/... for the action it
// is compiling, so one set of methods per kind serves every action, as the methods of
// Dataform's context classes do; each application gets its own object inheriting them.
var __wdContexts = {};
function __wdContextMethods(kind, isIncremental) {
  var call = function (op, payload) {
    return __wdCall(op, 0, payload === undefined ? "" : JSON.stringify(payload), __wdLine);
  };
  if (kind === "test") return {};
  var ctx = {
    self: function () { return call("self"); },
    name: function () { return call("name"); },
    schema: function () { return call("schema"); },
    database: function () { return call("database"); },
    ref: function () { return call("ref", __wdResolvable(arguments)); },
    resolve: function () { return call("resolve", __wdResolvable(arguments)); },
    when: function (cond, trueCase, falseCase) {
      return cond ? trueCase : (falseCase === undefined ? "" : falseCase);
    },
    dependencies: function (deps) { call("dependencies", __wdData(deps, "dependency")); return ""; },
    tags: function (tags) { call("tags", __wdData(tags, "tag")); return ""; }
  };
  if (kind === "table" || kind === "view" || kind === "incremental" || kind === "refs") {
    ctx.incremental = function () { return !!isIncremental; };
  }
  if (kind === "operations") {
    ctx.hasOutput = function (value) { call("hasOutput", !!value); return ""; };
  }
  if (kind === "refs") {
    ctx.self = ctx.name = ctx.schema = ctx.database = function () { return ""; };
    ctx.dependencies = ctx.tags = function () { return ""; };
  }
  return ctx;
}

function __wdContext(kind, isIncremental) {
  var key = kind + (isIncremental ? "+" : "");
  if (!__wdContexts[key]) __wdContexts[key] = __wdContextMethods(kind, isIncremental);
  return Object.create(__wdContexts[key]);
}

function __wdApplyOne(value, ctx) {
  return typeof value === "function" ? value(ctx) : value;
}

// Apply one part of a spec: query | where | expect (one value), pre | post (a list of
// contextables, each a string or a list), input <n>.
function __wdApply(index, part, kind, isIncremental) {
  var spec = __wdSpecs[index];
  var ctx = __wdContext(kind, isIncremental);
  __wdLine = 0;
  var out;
  if (part === "pre" || part === "post") {
    out = [];
    spec[part].forEach(function (ops) {
      var applied = __wdApplyOne(ops, ctx);
      out = out.concat(typeof applied === "string" ? [applied] : applied);
    });
  } else if (part.indexOf("input ") === 0) {
    out = __wdApplyOne(spec.inputs[Number(part.slice(6))], ctx);
  } else {
    out = __wdApplyOne(spec[part], ctx);
  }
  return JSON.stringify(out === undefined ? null : out);
}
"""

"""JavaScript globals the compiled SQLX programs run against.

Kept as a Python constant so the package needs no data files to install.
"""

from __future__ import annotations

RUNTIME_JS = r"""
// Globals the compiled SQLX programs run against. Resolution of names to tables lives in
// Python (__wdCall); this file only shapes arguments and builds each action's context.
var __wdLine = 0;
var __wdSpecs = [];
var dataform = { projectConfig: {} };

function __wdRegister(spec) {
  __wdSpecs.push(spec);
}

function __wdConfigJson(index) {
  return JSON.stringify(__wdSpecs[index].config(), function (key, value) {
    if (typeof value === "function") {
      throw new Error("config property '" + key + "' is a function; config values must be data");
    }
    return value;
  });
}

var __wdInvalidRef =
  "Invalid input. Accepted inputs include: a single object containing an (optional) " +
  "'database', (optional) 'schema', and 'name', or 1-3 inputs consisting of an (optional) " +
  "database, (optional) schema, and 'name'.";

function __wdResolvable(args) {
  var first = args[0];
  var rest = Array.prototype.slice.call(args, 1);
  if (Array.isArray(first) && rest.length > 0) throw new Error(__wdInvalidRef);
  if (rest.length === 0 && !Array.isArray(first)) {
    if (typeof first === "string") return { name: first };
    if (first && typeof first === "object") {
      return {
        name: first.name,
        schema: first.dataset !== undefined ? first.dataset : first.schema,
        database: first.project !== undefined ? first.project : first.database
      };
    }
    throw new Error(__wdInvalidRef);
  }
  var parts = (Array.isArray(first) ? first.slice() : [first].concat(rest)).reverse();
  if (parts.length < 1 || parts.length > 3 || parts.some(function (p) { return typeof p !== "string"; })) {
    throw new Error(__wdInvalidRef);
  }
  return { name: parts[0], schema: parts[1], database: parts[2] };
}

function __wdContext(index, kind, isIncremental) {
  var call = function (op, payload) {
    return __wdCall(op, index, payload === undefined ? "" : JSON.stringify(payload), __wdLine);
  };
  var ctx = {
    self: function () { return call("self"); },
    name: function () { return call("name"); },
    schema: function () { return call("schema"); },
    database: function () { return call("database"); },
    ref: function () { return call("ref", __wdResolvable(arguments)); },
    resolve: function () { return call("resolve", __wdResolvable(arguments)); }
  };
  if (kind === "table" || kind === "view" || kind === "incremental") {
    ctx.when = function (cond, trueCase, falseCase) {
      return cond ? trueCase : (falseCase === undefined ? "" : falseCase);
    };
    ctx.incremental = function () { return !!isIncremental; };
  }
  return ctx;
}

function __wdApply(index, part, kind, isIncremental) {
  var fn = __wdSpecs[index][part];
  if (!fn) return JSON.stringify(null);
  var out = fn(__wdContext(index, kind, isIncremental));
  return JSON.stringify(out.map(function (v) { return String(v); }));
}
"""

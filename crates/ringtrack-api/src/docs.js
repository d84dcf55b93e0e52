"use strict";
const el = (tag, attrs, ...children) => {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  children.flat().forEach(c => node.append(c instanceof Node ? c : document.createTextNode(String(c))));
  return node;
};
let spec;
const resolve = s => {
  for (let depth = 0; s && s.$ref && depth < 20; depth++) s = spec.components.schemas[s.$ref.split("/").pop()];
  return s || {};
};
// A compact, readable rendering of a schema as a JSON-like example shape.
const shape = (schema, depth = 0) => {
  const s = resolve(schema);
  if (depth > 6) return "…";
  if (s.allOf) return Object.assign({}, ...s.allOf.map(p => shape(p, depth + 1)));
  if (s.oneOf || s.anyOf) return (s.oneOf || s.anyOf).map(p => shape(p, depth + 1)).find(x => x !== "null") ?? null;
  const type = Array.isArray(s.type) ? s.type.find(t => t !== "null") : s.type;
  if (type === "object" || s.properties) {
    const out = {};
    Object.entries(s.properties || {}).forEach(([k, v]) => { out[k] = shape(v, depth + 1); });
    return out;
  }
  if (type === "array") return [shape(s.items, depth + 1)];
  if (s.example !== undefined) return s.example;
  return s.format ? `${type} (${s.format})` : type || "any";
};
const section = (title, body) => [el("h4", {}, title), body];
fetch("/api/v1/openapi.json").then(r => r.json()).then(doc => {
  spec = doc;
  document.getElementById("intro").textContent = doc.info.description || "";
  const byTag = {};
  Object.entries(doc.paths).forEach(([path, item]) => Object.entries(item).forEach(([method, op]) => {
    const tag = (op.tags && op.tags[0]) || "Other";
    (byTag[tag] = byTag[tag] || []).push({ path, method, op });
  }));
  const root = document.getElementById("ops");
  Object.entries(byTag).forEach(([tag, ops]) => {
    root.append(el("h2", {}, tag));
    ops.forEach(({ path, method, op }) => {
      const body = el("div", {});
      if (op.description || op.summary) body.append(el("p", {}, op.description || op.summary));
      if (op.security) body.append(el("p", { class: "muted" }, "Needs Authorization: Bearer cs_key_…"));
      if (op.parameters && op.parameters.length) {
        const rows = op.parameters.map(p => el("tr", {}, el("td", {}, el("code", {}, p.name)), el("td", {}, p.in),
          el("td", {}, JSON.stringify(shape(p.schema))), el("td", {}, p.description || "")));
        body.append(...section("Parameters", el("table", {}, rows)));
      }
      const req = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
      if (req) body.append(...section("Request body", el("pre", {}, JSON.stringify(shape(req.schema), null, 2))));
      Object.entries(op.responses || {}).forEach(([status, res]) => {
        const json = res.content && res.content["application/json"];
        body.append(...section(`${status} ${res.description || ""}`,
          json ? el("pre", {}, JSON.stringify(shape(json.schema), null, 2)) : el("span", {})));
      });
      root.append(el("details", { class: "op" },
        el("summary", {}, el("span", { class: `method ${method}` }, method.toUpperCase()), el("code", {}, path),
          el("span", { class: "muted" }, op.summary || "")), body));
    });
  });
}).catch(err => { document.getElementById("intro").textContent = "Could not load the API description: " + err; });

// A CommonJS loader for the test pages: JsSIP ships CommonJS only (no browser
// bundle on npm), and the tests load it as installed, without a build step.
// Synchronous fetches from the test's own HTTP server; node_modules resolution
// with the package "browser"/"main" fields.
"use strict";
window.global = window;
window.process = window.process || { env: {}, browser: true, nextTick: f => setTimeout(f, 0) };
(() => {
  const root = new URL(".", location.href).href;
  const texts = new Map();
  const modules = new Map();
  const fetchText = url => {
    if (!texts.has(url)) {
      const x = new XMLHttpRequest();
      x.open("GET", url, false);
      x.send();
      texts.set(url, x.status === 200 ? x.responseText : null);
    }
    return texts.get(url);
  };
  const resolveFile = path => {
    // A directory answers with a listing: only files are tried.
    const candidates = /\.(c?js|json)$/.test(path) ? [path]
      : [path + ".js", path + ".json", path + "/index.js"];
    for (const candidate of candidates) {
      if (fetchText(candidate) !== null) return candidate;
    }
    throw new Error("cannot find module " + path);
  };
  const resolve = (spec, base) => {
    if (spec.startsWith(".") || spec.startsWith("/")) return resolveFile(new URL(spec, base).href);
    const parts = spec.split("/");
    const name = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
    const rest = parts.slice(spec.startsWith("@") ? 2 : 1).join("/");
    const pkgBase = root + "node_modules/" + name + "/";
    if (rest) return resolveFile(pkgBase + rest);
    const pkg = JSON.parse(fetchText(pkgBase + "package.json"));
    const main = (typeof pkg.browser === "string" && pkg.browser) || pkg.main || "index.js";
    return resolveFile(new URL(main, pkgBase).href);
  };
  const load = (spec, base) => {
    const file = resolve(spec, base);
    if (modules.has(file)) return modules.get(file).exports;
    const module = { exports: {} };
    modules.set(file, module);
    const text = fetchText(file);
    if (file.endsWith(".json")) {
      module.exports = JSON.parse(text);
    } else {
      const fn = new Function("require", "module", "exports", text + "\n//# sourceURL=" + file);
      fn(s => load(s, file), module, module.exports);
    }
    return module.exports;
  };
  window.requireModule = spec => load(spec, root);
})();

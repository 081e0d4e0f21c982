/* atlas-fn inspector: lists the server's recent requests and shows one's decision trace.
 * Every value from a request (paths, headers, bodies, console lines) is set as text
 * (textContent or a text node), never as markup: this file never assigns innerHTML. */
"use strict";

const API = "api/requests";
const POLL_MS = 1000;
let newest = -1;
let count = -1;
let picked = new URLSearchParams(location.search).get("co_id") || "";

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

async function api(path, options) {
  const answer = await fetch(path, Object.assign({ cache: "no-store", credentials: "same-origin" }, options || {}));
  const value = await answer.json();
  if (!answer.ok) throw new Error(value.error || ("HTTP " + answer.status));
  return value;
}

function setState(text, bad) {
  const state = document.getElementById("state");
  state.textContent = text;
  state.className = bad ? "bad" : "";
}

async function poll() {
  try {
    const data = await api(API);
    const rows = data.requests;
    const top = rows.length ? rows[0].seq : 0;
    if (top !== newest || rows.length !== count) {
      newest = top;
      count = rows.length;
      renderList(rows);
    }
    renderNotices(data.notices);
    setState(rows.length + " requests kept (the last " + data.entries + " at most)");
  } catch (error) {
    setState("cannot read the request list: " + error.message, true);
  }
}

function renderNotices(notices) {
  const list = document.getElementById("notices");
  const shown = notices.map((n) => n.at + " " + n.text).join("\n");
  if (list.dataset.shown === shown) return;
  list.dataset.shown = shown;
  list.replaceChildren(...notices.map((n) => el("li", {}, el("span", { class: "muted", text: n.at + " " }), n.text)));
  list.hidden = notices.length === 0;
}

function renderList(rows) {
  const body = document.getElementById("rows");
  body.replaceChildren(...rows.map((row) => {
    const tr = el("tr", { class: "request-row" + (row.status >= 400 ? " failed" : "") + (row.co_id === picked ? " picked" : ""),
                          tabindex: "0", "data-co-id": row.co_id, "data-seq": String(row.seq),
                          onclick: () => openRequest(row.co_id),
                          onkeydown: (e) => { if (e.key === "Enter") openRequest(row.co_id); } },
      el("td", { text: row.at.slice(11, 23) }),
      el("td", { text: row.method }),
      el("td", { class: "status", text: String(row.status) }),
      el("td", { text: row.milliseconds.toFixed(1) }),
      el("td", { class: "function", text: row.function + (row.resent_from ? " (re-sent)" : "") }),
      el("td", { class: "target mono", title: row.target, text: row.target }));
    return tr;
  }));
  document.getElementById("empty").hidden = rows.length > 0;
}

function pairs(list) {
  return el("table", { class: "pairs mono" }, el("tbody", {}, ...list.map(([name, value]) =>
    el("tr", {}, el("th", { text: name }), el("td", { text: value })))));
}

function bytesView(body) {
  if (!body.size) return el("p", { class: "muted", text: "(empty)" });
  const note = body.shown < body.size ? " (the first " + body.shown + " shown)" : "";
  const kind = body.text !== null ? "text" : "hex";
  return el("div", {}, el("p", { class: "muted", text: body.size + " bytes, as " + kind + note }),
    el("pre", { class: "body " + kind, text: body.text !== null ? body.text : body.hex }));
}

function section(id, title, ...content) {
  return el("section", { id: id }, el("h2", { text: title }), ...content);
}

function listOf(id, items, empty) {
  if (!items.length) return el("p", { id: id, class: "muted", text: empty });
  return el("ol", { id: id, class: "mono" }, ...items.map((item) => el("li", { text: item })));
}

function validationView(v) {
  if (!v) return el("p", { class: "muted", text: "validation did not run (no route matched, or the request was refused before it)" });
  const parts = [el("p", {}, el("span", { class: "mono", text: v.method }), " ",
    el("strong", { class: v.ok ? "ok" : "bad", text: v.ok ? "passed" : "failed" }), ": ", v.detail)];
  if (v.forensics) {
    const f = v.forensics;
    parts.push(el("p", {}, "Expected header ", el("code", { text: f.header }), "; it held ", f.held, "."),
      el("table", { id: "d-forensics" },
        el("thead", {}, el("tr", {}, el("th", { text: "the body signed as" }), el("th", { text: "bytes" }), el("th", { text: "would match" }))),
        el("tbody", {}, ...f.forms.map((form) => el("tr", { class: form.matches ? "ok" : "" },
          el("td", { text: form.form }), el("td", { text: form.bytes === null ? "-" : String(form.bytes) }),
          el("td", { text: form.matches === null ? "n/a (the body has no such form)" : form.matches ? "YES" : "no" }))))));
  }
  if (v.forensics_missing) parts.push(el("p", { class: "muted", text: "No forensics: " + v.forensics_missing }));
  return el("div", {}, ...parts);
}

function timingsView(timings) {
  const total = timings.reduce((sum, [, ms]) => sum + ms, 0) || 1;
  return el("table", { id: "d-timings" }, el("tbody", {}, ...timings.map(([step, ms]) => {
    const bar = el("span", { class: "bar" });
    bar.style.width = Math.max(1, Math.round(200 * ms / total)) + "px";  // CSSOM: allowed by the page's CSP
    return el("tr", {}, el("th", { text: step }), el("td", { text: ms.toFixed(3) + " ms" }), el("td", {}, bar));
  })));
}

function renderDetail(d) {
  const pane = document.getElementById("detail");
  const route = d.route;
  const resend = el("button", { id: "resend", type: "button", onclick: () => resendRequest(d.co_id) }, "Re-send");
  if (!d.resendable) { resend.disabled = true; resend.title = d.resend_refusal; }
  pane.replaceChildren(...[
    el("h2", { id: "d-title", class: "mono" }, d.method + " ", el("span", { text: d.target })),
    el("p", {}, el("span", { class: "muted", text: d.at + " · co_id " }), el("code", { id: "d-co-id", text: d.co_id }),
      el("span", { class: "muted", text: " · from " + d.remote + (d.resent_from ? " · re-sent from " + d.resent_from : "") + " " }),
      resend, " ", el("span", { id: "resend-result", role: "status" })),
    section("d-route", "Route", route ? pairs([["matched", route.kind + " " + route.name + (route.route ? " (" + route.route + ")" : "")],
      ["service", route.service_type], ["function file", route.function_file], ["engine", route.engine],
      ["respond_result", String(route.respond_result)], ["legacy URL", String(route.legacy)]])
      : el("p", { class: "muted", text: "no route matched" })),
    section("d-validation", "Validation", validationView(d.validation)),
    section("d-console-section", "Console", listOf("d-console", d.console, "(no console lines)")),
    d.error ? section("d-error", "Error", el("pre", { class: "bad", text: d.error })) : null,
    d.traceback ? section("d-traceback-section", "Traceback", el("pre", { id: "d-traceback", text: d.traceback })) : null,
    section("d-calls-section", "Response calls, in order", listOf("d-calls", d.calls, "(no response calls)")),
    section("d-response", "Response " + d.response.status, pairs(d.response.headers), bytesView(d.response.body)),
    section("d-request", "Request", pairs(d.request.headers), bytesView(d.request.body)),
    section("d-timings-section", "Time per step", timingsView(d.timings))].filter((part) => part !== null));
  pane.hidden = false;
}

async function openRequest(coId) {
  picked = coId;
  history.replaceState(null, "", "?co_id=" + encodeURIComponent(coId));
  for (const row of document.querySelectorAll("tr.request-row")) row.classList.toggle("picked", row.dataset.coId === coId);
  try {
    renderDetail(await api(API + "/" + encodeURIComponent(coId)));
  } catch (error) {
    const pane = document.getElementById("detail");
    pane.replaceChildren(el("p", { class: "bad", text: "Request " + coId + ": " + error.message }));
    pane.hidden = false;
  }
}

async function resendRequest(coId) {
  const result = document.getElementById("resend-result");
  result.textContent = "sending…";
  try {
    const sent = await api(API + "/" + encodeURIComponent(coId) + "/resend",
                           { method: "POST", headers: { "X-Atlas-Fn-Inspector": "resend" } });
    result.textContent = "re-sent: status " + sent.status + (sent.co_id ? ", new request " + sent.co_id : "");
    result.dataset.newCoId = sent.co_id || "";
    await poll();
  } catch (error) {
    result.textContent = "not re-sent: " + error.message;
    result.className = "bad";
  }
}

poll();
setInterval(poll, POLL_MS);
if (picked) openRequest(picked);

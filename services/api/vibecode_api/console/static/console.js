// VibeCode console: what htmx does not do for us. Every change goes to the JSON API (/api/*),
// so its validation, quotas and error wording are the ones the user sees. htmx re-renders the
// fragments, which listen for the events fired here ("files-changed from:body" and so on).
// No inline script, no eval: the page's CSP allows scripts from this origin only.
"use strict";

(() => {
  const $ = (sel, root = document) => root.querySelector(sel);

  // -- messages --------------------------------------------------------------------------
  function toast(text) {
    const box = $("#toast");
    $("#toast-text").textContent = text;
    box.hidden = false;
  }
  document.addEventListener("click", (e) => {
    if (e.target.closest("#toast-close")) $("#toast").hidden = true;
  });

  // The API's own words: `detail` of {"error", "detail"}, from any kind of response body.
  function wording(text, fallback) {
    let body = null;
    try { body = JSON.parse(text); } catch { /* not JSON */ }
    if (!body || !body.detail) return fallback;
    const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    return body.error === "quota_exceeded" ? `Quota reached: ${detail}` : detail;
  }

  async function apiError(response) {
    return wording(await response.text(), `The API answered ${response.status} ${response.statusText}`);
  }

  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

  function fire(name) {
    if (name) document.body.dispatchEvent(new CustomEvent(name, { bubbles: true }));
  }

  function changed(kind) {
    fire(kind);
    fire("usage-changed");
    fire("workspaces-changed");
  }

  async function call(method, url, body) {
    const init = { method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    try {
      return await fetch(url, init);
    } catch {
      toast("The API could not be reached. Is it running?");
      return null;
    }
  }

  // -- data-api: buttons and forms that call the API -------------------------------------
  async function runApi(el, form) {
    const [method, url] = el.dataset.api.split(" ");
    if (el.dataset.confirm && !window.confirm(el.dataset.confirm)) return;
    const body = form ? Object.fromEntries(new FormData(form)) : undefined;
    el.setAttribute("aria-busy", "true");
    const response = await call(method, url, body);
    el.removeAttribute("aria-busy");
    if (!response) return;
    if (!response.ok) {
      toast(await apiError(response));
      return;
    }
    const after = el.dataset.after;
    if (after === "workspace-created") {
      const ws = await response.json();
      window.location.assign(`/console/workspaces/${encodeURIComponent(ws.id)}`);
    } else if (after === "workspace-deleted") {
      window.location.assign("/");
    } else {
      changed(after);
    }
  }

  document.addEventListener("click", (e) => {
    const el = e.target.closest("button[data-api]");
    if (el) { e.preventDefault(); runApi(el, null); }
    const copy = e.target.closest("[data-copy]");
    if (copy) {
      const text = $(copy.dataset.copy).textContent;
      navigator.clipboard.writeText(text).then(() => { copy.textContent = "Copied"; });
    }
  });
  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (form.matches("form[data-api]")) { e.preventDefault(); runApi(form, form); }
    else if (form.id === "search-form") { e.preventDefault(); search(form); }
    else if (form.id === "chat-form") { e.preventDefault(); chat(form); }
  });

  // htmx fragment requests: errors in words, not silence.
  document.addEventListener("htmx:responseError", async (e) => {
    const xhr = e.detail.xhr;
    toast(wording(xhr.responseText, `The console could not refresh (${xhr.status}).`));
  });
  document.addEventListener("htmx:sendError", () => toast("The API could not be reached."));

  // -- uploads: one request per file, each with its own progress bar ---------------------
  function upload(url, file, list) {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "path";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", `Uploading ${file.name}`);
    const note = document.createElement("span");
    note.className = "small muted";
    note.textContent = "uploading…";
    item.append(name, bar, note);
    list.append(item);

    const data = new FormData();
    data.append("file", file, file.name);
    data.append("path", file.webkitRelativePath || file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
    });
    xhr.upload.addEventListener("load", () => { note.textContent = "indexing…"; });
    xhr.addEventListener("load", () => {
      bar.value = 100;
      if (xhr.status === 200 || xhr.status === 201) {
        const body = JSON.parse(xhr.responseText);
        item.classList.add("ok");
        note.textContent = xhr.status === 201
          ? `added, ${plural(body.chunks, "chunk")}`
          : `updated: ${plural(body.chunksAdded, "chunk")} added, ${body.chunksRemoved} removed, ${body.chunksKept} kept`;
      } else {
        item.classList.add("failed");
        note.textContent = wording(xhr.responseText, `refused (${xhr.status})`);
      }
      changed("files-changed");
    });
    xhr.addEventListener("error", () => {
      item.classList.add("failed");
      note.textContent = "the API could not be reached";
    });
    xhr.send(data);
  }

  function uploadAll(zone, files) {
    const list = $("#uploads");
    for (const file of files) upload(zone.dataset.upload, file, list);
  }

  document.addEventListener("change", (e) => {
    if (e.target.id === "upload-input") {
      uploadAll($("#drop"), e.target.files);
      e.target.value = "";
    }
  });
  for (const type of ["dragenter", "dragover"]) {
    document.addEventListener(type, (e) => {
      const zone = e.target.closest && e.target.closest("[data-upload]");
      if (zone) { e.preventDefault(); zone.classList.add("over"); }
    });
  }
  document.addEventListener("dragleave", (e) => {
    const zone = e.target.closest && e.target.closest("[data-upload]");
    if (zone) zone.classList.remove("over");
  });
  document.addEventListener("drop", (e) => {
    const zone = e.target.closest && e.target.closest("[data-upload]");
    if (!zone) return;
    e.preventDefault();
    zone.classList.remove("over");
    uploadAll(zone, e.dataTransfer.files);
  });

  // -- search -----------------------------------------------------------------------------
  function passage(hit, label) {
    const item = document.createElement("li");
    const head = document.createElement("div");
    head.className = "hit-head";
    const where = document.createElement("span");
    where.className = "path";
    where.textContent = `${label}${hit.path}:${hit.startLine}-${hit.endLine}`;
    const score = document.createElement("span");
    score.className = "small muted";
    score.textContent = `score ${hit.score.toFixed(3)}`;
    head.append(where, score);
    const text = document.createElement("pre");
    text.textContent = hit.text;
    item.append(head, text);
    return item;
  }

  async function search(form) {
    const status = $("#search-status");
    const results = $("#search-results");
    status.textContent = "Searching…";
    results.replaceChildren();
    const response = await call("POST", form.dataset.search, { query: form.query.value });
    if (!response) { status.textContent = ""; return; }
    if (!response.ok) { status.textContent = await apiError(response); return; }
    const body = await response.json();
    status.textContent = `${plural(body.results.length, "result")} in ${Math.round(body.tookMs)} ms`;
    for (const hit of body.results) results.append(passage(hit, ""));
  }

  // -- chat: POST /api/chat with stream=true; SSE events context, delta, done, error --------
  const history = [];

  function citationList(context, turn) {
    const list = document.createElement("ol");
    list.className = "citations";
    list.setAttribute("aria-label", "Sources");
    for (const c of context) {
      const item = document.createElement("li");
      item.id = `cite-${turn}-${c.n}`;
      const details = document.createElement("details");
      const summary = document.createElement("summary");
      summary.textContent = `[${c.n}] ${c.path}, lines ${c.startLine}-${c.endLine}`;
      const text = document.createElement("pre");
      text.textContent = c.text;
      details.append(summary, text);
      item.append(details);
      list.append(item);
    }
    return list;
  }

  // "[2]" in the answer becomes a link that opens source 2 (built as nodes, never as HTML).
  function linkCitations(node, text, turn, known) {
    node.replaceChildren();
    let last = 0;
    for (const m of text.matchAll(/\[(\d+)\]/g)) {
      if (!known.has(Number(m[1]))) continue;
      node.append(text.slice(last, m.index));
      const a = document.createElement("a");
      a.href = `#cite-${turn}-${m[1]}`;
      a.className = "cite";
      a.textContent = m[0];
      node.append(a);
      last = m.index + m[0].length;
    }
    node.append(text.slice(last));
  }

  document.addEventListener("click", (e) => {
    const a = e.target.closest("a.cite");
    if (!a) return;
    const target = document.getElementById(a.hash.slice(1));
    if (target) {
      e.preventDefault();
      const details = target.querySelector("details");
      details.open = true;
      details.querySelector("summary").focus();
    }
  });

  function bubble(role, label) {
    const item = document.createElement("li");
    item.className = `msg ${role}`;
    const who = document.createElement("span");
    who.className = "who small muted";
    who.textContent = label;
    const text = document.createElement("div");
    text.className = "text";
    item.append(who, text);
    $("#chat-log").append(item);
    return { item, who, text };
  }

  async function* sseEvents(response) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        }
        if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
      }
    }
  }

  async function chat(form) {
    const input = form.message;
    const question = input.value.trim();
    if (!question) return;
    const send = $("#chat-send");
    send.disabled = true;
    input.value = "";
    const turn = history.length;
    bubble("user", "You").text.textContent = question;
    history.push({ role: "user", content: question });
    const answer = bubble("assistant", "Assistant");
    answer.item.setAttribute("aria-busy", "true");
    let content = "";
    let context = [];
    try {
      const response = await call("POST", "/api/chat", {
        messages: history, workspaceId: form.dataset.workspace, stream: true,
      });
      if (!response) { answer.text.textContent = "The API could not be reached."; return; }
      if (!response.ok) {
        answer.item.classList.add("failed");
        answer.text.textContent = await apiError(response);
        return;
      }
      const provider = response.headers.get("X-Vibe-Provider");
      for await (const { event, data } of sseEvents(response)) {
        if (event === "context") {
          context = data;
          if (context.length) answer.item.append(citationList(context, turn));
        } else if (event === "delta") {
          content += data.content;
          answer.text.textContent = content;
        } else if (event === "done") {
          answer.who.textContent = `Assistant · ${data.provider || provider}`;
          answer.item.dataset.provider = data.provider || provider;
        } else if (event === "error") {
          answer.item.classList.add("failed");
          const err = document.createElement("p");
          err.className = "error";
          err.textContent = data.detail || data.error;
          answer.item.append(err);
        }
      }
      linkCitations(answer.text, content, turn, new Set(context.map((c) => c.n)));
      history.push({ role: "assistant", content });
    } catch (err) {
      answer.item.classList.add("failed");
      answer.text.textContent = `The answer stopped: ${err.message}`;
    } finally {
      answer.item.removeAttribute("aria-busy");
      answer.item.dataset.done = "true";
      send.disabled = false;
      input.focus();
    }
  }
})();

// The web page: posts the anecdote to /v1/classify and shows flags, highlighted evidence and advice; scores a
// CSV through /v1/score-csv. Builds every node with textContent, never innerHTML, so no text can inject markup.
"use strict";

const SEVERITY_WORDS = { 1: "mild", 2: "serious", 3: "egregious" };
// The one place the page picks its order: most likely first; equal probabilities put the graver category first.
const byProbability = (a, b) => b.probability - a.probability || b.severity - a.severity;

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function byId(id) { return document.getElementById(id); }

function pretty(id) { return id.replace(/_/g, " "); }

// Category titles come from the legend the server rendered from the taxonomy.
function title(category) {
  const item = document.querySelector(`#legend li[data-category="${category}"]`);
  return item ? item.dataset.title : pretty(category);
}

function formatCount(n) { return n.toLocaleString("en"); }

// The API counts Unicode code points (Python's len); JavaScript's .length counts UTF-16 units.
function codePoints(text) { return [...text].length; }

function maxChars() { return Number(byId("anecdote").dataset.maxChars); }

function plural(n, one, many) { return `${formatCount(n)} ${n === 1 ? one : many}`; }

// ---- messages -------------------------------------------------------------------------------------------

function tooLongMessage(n, limit) {
  return `Your text is ${plural(n, "character", "characters")} long, ${formatCount(n - limit)} over the limit of ` +
    `${formatCount(limit)}. Please shorten it; nothing has been cut.`;
}

// A problem document (RFC 9457) from the API, said in plain words: never the validator's own text.
function plainProblem(status, data, textLength) {
  const detail = (data && typeof data.detail === "string") ? data.detail : "";
  if (status === 401) return "This service needs an API key: enter a valid key in the API key box and try again.";
  if (status === 429) return "Too many requests for now. Please wait a minute and try again.";
  if (status === 503) return "The service is starting and has no model loaded yet. Please try again in a minute.";
  if (status >= 500) return "Something went wrong on the server; nothing was stored. Please try again.";
  if (status === 413) return detail || "What you sent is larger than the service accepts.";
  if (status === 422 && data && Array.isArray(data.errors)) {
    const fields = data.errors.map((e) => String(e.field || ""));
    const text = data.errors.find((e) => e.field === "text");
    if (text) {
      if (/over [0-9,]+ characters|at most/i.test(text.message || "")) {
        return `Your text is ${plural(textLength, "character", "characters")} long, more than the service accepts. ` +
          "Please shorten it; nothing has been cut.";
      }
      return "Please describe the interview first: the text is empty.";
    }
    if (fields.some((f) => f.startsWith("context"))) {
      return "One of the choices (the stage or the checkbox) could not be read. Please reload the page and try again.";
    }
    return "The service could not read the request. Please reload the page and try again.";
  }
  return null;
}

// ---- the character count ---------------------------------------------------------------------------------

function updateCount() {
  const n = codePoints(byId("anecdote").value);
  const limit = maxChars();
  const over = n > limit;
  const count = byId("char-count");
  const used = `${formatCount(n)} of ${formatCount(limit)} characters used`;
  count.textContent = over ? `${used}: ${formatCount(n - limit)} too many.` : `${used}.`;
  count.classList.toggle("over", over);
  const warning = byId("too-long");
  // The alert's text changes only when crossing the limit, so a screen reader is not told on every key.
  const message = over ? `Your text is longer than the ${formatCount(limit)}-character limit. Please shorten it: ` +
    "nothing is cut, and the check waits until it fits." : "";
  if (warning.textContent !== message) warning.textContent = message;
  warning.hidden = !over;
  byId("anecdote").setAttribute("aria-invalid", over ? "true" : "false");
  byId("submit").disabled = over;
  return n;
}

// ---- the result ------------------------------------------------------------------------------------------

let shown = null;  // {text, flags} of the result on the page, for re-highlighting when a flag is chosen

function highlight(container, text, flags) {
  // Merge evidence spans (they may overlap across categories) and wrap them in <mark>, coloured by the first
  // (most likely) category and labelled with every category's name. Offsets count Unicode code points, so
  // slice the array of code points, or an emoji before a span would shift every highlight.
  const points = Array.from(text);
  const slice = (a, b) => points.slice(a, b).join("");
  const spans = [];
  flags.forEach((f, rank) => { for (const e of f.evidence) spans.push([e.start, e.end, f.category, rank]); });
  spans.sort((a, b) => a[0] - b[0] || a[3] - b[3]);
  const merged = [];
  for (const [start, end, category] of spans) {
    const last = merged[merged.length - 1];
    if (last && start < last.end) { last.end = Math.max(last.end, end); last.categories.add(category); }
    else merged.push({ start, end, categories: new Set([category]) });
  }
  container.replaceChildren();
  let at = 0;
  for (const span of merged) {
    container.append(document.createTextNode(slice(at, span.start)));
    const categories = [...span.categories];
    const mark = el("mark", slice(span.start, span.end), "cat-" + categories[0]);
    mark.dataset.categories = categories.join(" ");
    mark.dataset.label = categories.map(title).join(" + ");  // shown after the mark by the style sheet
    mark.title = mark.dataset.label;
    container.append(mark);
    at = span.end;
  }
  container.append(document.createTextNode(slice(at)));
  const present = new Set(merged.flatMap((m) => [...m.categories]));
  for (const item of document.querySelectorAll("#legend li")) {
    item.classList.toggle("present", present.has(item.dataset.category));
  }
}

function chooseFlag(category) {
  const current = document.querySelector('#flags button[aria-pressed="true"]');
  const selected = current && current.dataset.category === category ? null : category;
  for (const button of document.querySelectorAll("#flags button")) {
    button.setAttribute("aria-pressed", button.dataset.category === selected ? "true" : "false");
  }
  const flags = selected ? shown.flags.filter((f) => f.category === selected) : shown.flags;
  highlight(byId("highlighted"), shown.text, flags);
  const note = byId("evidence-filter");
  const again = "Choose it again to see all.";
  if (!selected) note.textContent = "Showing the evidence for every flag.";
  else if (!flags[0].evidence.length) note.textContent = `No sentence to show for ${title(selected)}. ${again}`;
  else note.textContent = `Showing only the evidence for ${title(selected)}. ${again}`;
}

function flagItem(f) {
  const item = el("li");
  item.dataset.category = f.category;
  const button = el("button", undefined, "flag");
  button.type = "button";
  button.dataset.category = f.category;
  button.setAttribute("aria-pressed", "false");
  const severity = `severity ${f.severity} of 3, ${SEVERITY_WORDS[f.severity] || ""}`;
  button.append(el("span", undefined, "swatch cat-" + f.category), el("strong", title(f.category)),
    el("span", ` ${Math.round(f.probability * 100)}%`, "probability"), el("span", ` · ${severity}`, "severity"));
  button.addEventListener("click", () => chooseFlag(f.category));
  item.append(button);
  return item;
}

function show(text, data) {
  const rec = data.recommendation;
  const card = byId("recommendation");
  card.className = "card " + rec.action;
  card.replaceChildren(
    el("h3", "Recommendation: " + pretty(rec.action)),
    el("p", rec.rationale),
    el("p", (rec.stage === "after" ? "Looking back: " : "What you can say: ") + rec.script),
    el("p", (rec.stage === "after" ? "What to do now: " : "Afterwards: ") + rec.follow_up),
    el("p", "Advice written for " + (rec.stage === "after" ? "after the interview." : "during the process."), "help"));
  const flags = [...data.red_flags].sort(byProbability);
  shown = { text, flags };
  const list = byId("flags");
  list.replaceChildren();
  if (!flags.length) list.append(el("li", "No red flag found."));
  for (const f of flags) list.append(flagItem(f));
  byId("flags-help").hidden = !flags.length;
  byId("evidence-filter").textContent = "";
  highlight(byId("highlighted"), text, flags);
  const body = document.querySelector("#scores tbody");
  body.replaceChildren();
  for (const [cat, p] of Object.entries(data.scores).sort((a, b) => b[1] - a[1])) {
    const row = el("tr");
    row.append(el("td", title(cat)), el("td", p.toFixed(2)));
    body.append(row);
  }
  byId("result").hidden = false;
  // Move the reader to the new result: keyboard focus and the view.
  const heading = byId("result-heading");
  heading.focus({ preventScroll: true });
  heading.scrollIntoView({ block: "start" });
}

function showError(message) {
  // A new error replaces whatever was shown before, result or error, and takes focus and view.
  byId("result").hidden = true;
  byId("status").textContent = "";
  const box = byId("error");
  box.textContent = message;
  box.hidden = false;
  box.focus({ preventScroll: true });
  box.scrollIntoView({ block: "center" });
}

function clearResult() {
  byId("error").hidden = true;
  byId("error").textContent = "";
  byId("result").hidden = true;
}

function requestContext() {
  const context = { open_to_other_roles: byId("open-roles").checked };
  const stage = document.querySelector('input[name="stage"]:checked');
  if (stage && stage.value) context.stage = stage.value;
  return context;
}

function authHeaders() {
  const key = byId("api-key");
  return key && key.value ? { "X-API-Key": key.value } : {};
}

async function readJson(response) {
  try { return await response.json(); } catch (err) { return null; }
}

async function submit(event) {
  event.preventDefault();
  const status = byId("status");
  const text = byId("anecdote").value;
  const length = updateCount();
  clearResult();
  if (!text.trim()) { showError("Please describe the interview first: the text is empty."); return; }
  if (length > maxChars()) { showError(tooLongMessage(length, maxChars())); return; }
  const button = byId("submit");
  button.disabled = true;
  status.textContent = "Reading…";
  try {
    const response = await fetch("/v1/classify", {
      method: "POST", headers: { "Content-Type": "application/json", ...authHeaders() },
      body: JSON.stringify({ text, context: requestContext() }),
    });
    const data = await readJson(response);
    if (!response.ok || !data) {
      showError(plainProblem(response.status, data, length) ||
        `The service refused the request (error ${response.status}). Please reload the page and try again.`);
      return;
    }
    status.textContent = data.flagged ? "Done: red flags found." : "Done: no red flag found.";
    show(text, data);
  } catch (err) {
    showError("Could not reach the service. Please check your connection and try again.");
  } finally {
    updateCount();  // re-enables the button unless the text is now over the limit
  }
}

// ---- Score a CSV -----------------------------------------------------------------------------------------

// The first record of a CSV (RFC 4180: quoted fields may hold commas, doubled quotes and line breaks).
function csvHeader(text) {
  const fields = [];
  let field = "", quoted = false, i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { fields.push(field); field = ""; }
    else if (c === "\n" || c === "\r") break;
    else field += c;
  }
  fields.push(field);
  return fields.length === 1 && fields[0] === "" ? [] : fields;
}

// Records in a CSV, counting only line breaks outside quotes (a quoted account may span lines).
function csvRecords(text) {
  let records = 0, quoted = false, content = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    if (!quoted && (c === "\n" || c === "\r")) {
      if (c === "\r" && text[i + 1] === "\n") i++;
      if (content) records++;
      content = false;
    } else content = true;
  }
  return records + (content ? 1 : 0);
}

let download = null;  // the object URL of the last scored file, released when a new one replaces it

function csvError(message) {
  byId("csv-status").textContent = "";
  byId("csv-download-row").hidden = true;
  const box = byId("csv-error");
  box.textContent = message;
  box.hidden = false;
  box.focus({ preventScroll: true });
  box.scrollIntoView({ block: "center" });
}

function csvClear() {
  byId("csv-error").hidden = true;
  byId("csv-error").textContent = "";
  byId("csv-download-row").hidden = true;
  if (download) { URL.revokeObjectURL(download); download = null; }
}

const LIKELY_TEXT_COLUMN = /text|answer|account|anecdote|story|comment|description|response/i;

async function chooseCsv() {
  const file = byId("csv-file").files[0];
  const select = byId("csv-column");
  csvClear();
  select.replaceChildren(el("option", "Choose a file first", ""));
  select.disabled = true;
  byId("csv-submit").disabled = true;
  byId("csv-status").textContent = "";
  if (!file) return;
  const columns = csvHeader(await file.slice(0, 1 << 16).text());
  if (!columns.length) { csvError("This file has no header row: the first line must name the columns."); return; }
  select.replaceChildren(...columns.map((name) => { const o = el("option", name); o.value = name; return o; }));
  select.value = columns.find((c) => LIKELY_TEXT_COLUMN.test(c)) ?? columns[0];
  select.disabled = false;
  byId("csv-submit").disabled = false;
  byId("csv-status").textContent =
    `${plural(columns.length, "column", "columns")} found. Choose the one with the accounts.`;
}

function scoredName(name) { return name.replace(/\.csv$/i, "") + "-scored.csv"; }

async function scoreCsv(event) {
  event.preventDefault();
  const file = byId("csv-file").files[0];
  const column = byId("csv-column").value;
  csvClear();
  if (!file) { csvError("Choose a CSV file first."); return; }
  if (!column) { csvError("Choose the column that holds the accounts."); return; }
  const form = new FormData();
  form.append("file", file);
  form.append("text_column", column);
  const button = byId("csv-submit");
  button.disabled = true;
  byId("csv-status").textContent = "Scoring the file…";
  try {
    const response = await fetch("/v1/score-csv", { method: "POST", headers: authHeaders(), body: form });
    if (!response.ok) {
      const data = await readJson(response);
      const plain = plainProblem(response.status, data, 0);
      const detail = data && typeof data.detail === "string" ? data.detail : "";
      csvError(plain || (detail ? `The file could not be scored: ${detail}.`.replace(/\.\.$/, ".")
        : `The file could not be scored (error ${response.status}).`));
      return;
    }
    const blob = await response.blob();
    const rows = Math.max(csvRecords(await blob.text()) - 1, 0);
    download = URL.createObjectURL(blob);
    const link = byId("csv-download");
    link.href = download;
    link.download = scoredName(file.name);
    link.textContent = `Download ${link.download} (${plural(rows, "row", "rows")} scored)`;
    byId("csv-download-row").hidden = false;
    byId("csv-status").textContent = `Done: ${plural(rows, "row", "rows")} scored.`;
    link.focus();
  } catch (err) {
    csvError("Could not reach the service. Please check your connection and try again.");
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  byId("classify-form").addEventListener("submit", submit);
  byId("anecdote").addEventListener("input", updateCount);
  byId("csv-file").addEventListener("change", chooseCsv);
  byId("csv-form").addEventListener("submit", scoreCsv);
  updateCount();  // a reload may keep the text the browser restored
});

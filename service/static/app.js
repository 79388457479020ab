// The web page: posts the anecdote to /v1/classify and shows flags, highlighted evidence and advice.
// Builds every node with textContent, never innerHTML, so the anecdote cannot inject markup.
"use strict";

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function pretty(id) { return id.replace(/_/g, " "); }

function highlight(container, text, flags) {
  // Merge evidence spans (they may overlap across categories) and wrap them in <mark>.
  // Offsets count Unicode code points (the API's unit); JavaScript strings index UTF-16 units, so
  // slice the array of code points, or an emoji before a span would shift every highlight.
  const points = Array.from(text);
  const slice = (a, b) => points.slice(a, b).join("");
  const spans = [];
  for (const f of flags) for (const e of f.evidence) spans.push([e.start, e.end, f.category]);
  spans.sort((a, b) => a[0] - b[0]);
  const merged = [];
  for (const s of spans) {
    const last = merged[merged.length - 1];
    if (last && s[0] <= last[1]) { last[1] = Math.max(last[1], s[1]); last[2].add(s[2]); }
    else merged.push([s[0], s[1], new Set([s[2]])]);
  }
  container.replaceChildren();
  let at = 0;
  for (const [start, end, cats] of merged) {
    container.append(document.createTextNode(slice(at, start)));
    const mark = el("mark", slice(start, end));
    mark.title = [...cats].map(pretty).join(", ");
    container.append(mark);
    at = end;
  }
  container.append(document.createTextNode(slice(at)));
}

function show(text, data) {
  const rec = data.recommendation;
  const card = document.getElementById("recommendation");
  card.className = "card " + rec.action;
  card.replaceChildren(
    el("h3", "Recommendation: " + pretty(rec.action)),
    el("p", rec.rationale),
    el("p", (rec.stage === "after" ? "Looking back: " : "What you can say: ") + rec.script),
    el("p", (rec.stage === "after" ? "What to do now: " : "Afterwards: ") + rec.follow_up),
    el("p", "Advice written for " + (rec.stage === "after" ? "after the interview." : "during the process."), "help"));
  const list = document.getElementById("flags");
  list.replaceChildren();
  if (!data.red_flags.length) list.append(el("li", "No red flag found."));
  for (const f of data.red_flags) {
    const item = el("li");
    item.dataset.category = f.category;
    item.append(el("strong", pretty(f.category)), document.createTextNode(" — " + Math.round(f.probability * 100) + "%"));
    list.append(item);
  }
  highlight(document.getElementById("highlighted"), text, data.red_flags);
  const body = document.querySelector("#scores tbody");
  body.replaceChildren();
  for (const [cat, p] of Object.entries(data.scores)) {
    const row = el("tr");
    row.append(el("td", pretty(cat)), el("td", p.toFixed(2)));
    body.append(row);
  }
  document.getElementById("result").hidden = false;
}

function requestContext() {
  const context = { open_to_other_roles: document.getElementById("open-roles").checked };
  const stage = document.querySelector('input[name="stage"]:checked');
  if (stage && stage.value) context.stage = stage.value;
  return context;
}

async function submit(event) {
  event.preventDefault();
  const status = document.getElementById("status");
  const text = document.getElementById("anecdote").value;
  status.className = "";
  if (!text.trim()) { status.className = "error"; status.textContent = "Please describe the interview first."; return; }
  const headers = { "Content-Type": "application/json" };
  const key = document.getElementById("api-key");
  if (key && key.value) headers["X-API-Key"] = key.value;
  const button = document.getElementById("submit");
  button.disabled = true;
  status.textContent = "Reading…";
  try {
    const response = await fetch("/v1/classify", {
      method: "POST", headers,
      body: JSON.stringify({ text, context: requestContext() }),
    });
    const data = await response.json();
    if (!response.ok) { status.className = "error"; status.textContent = data.detail || "Something went wrong."; return; }
    status.textContent = data.flagged ? "Done: red flags found." : "Done: no red flag found.";
    show(text, data);
    document.getElementById("result-heading").focus?.();
  } catch (err) {
    status.className = "error";
    status.textContent = "Could not reach the service. Please try again.";
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("classify-form").addEventListener("submit", submit);
});

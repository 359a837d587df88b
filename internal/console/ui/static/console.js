// Sluice console: copy buttons and the live log tail (server-sent events).
// Log lines are added as text nodes, never as HTML.
"use strict";

document.addEventListener("click", (ev) => {
  const btn = ev.target.closest("button.copy");
  if (!btn) return;
  const text = btn.dataset.copy || "";
  const done = () => {
    btn.classList.add("done");
    btn.textContent = "Copied";
    setTimeout(() => { btn.classList.remove("done"); btn.textContent = "Copy"; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text) && done());
  } else if (fallbackCopy(text)) {
    done();
  }
});

// fallbackCopy copies through a hidden textarea where the Clipboard API is not
// available (a console reached over plain http on a non-loopback name).
function fallbackCopy(text) {
  const ta = document.createElement("textarea");
  ta.value = text;
  ta.setAttribute("readonly", "");
  ta.className = "offscreen";
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
  ta.remove();
  return ok;
}

const maxTailLines = 2000;

function startTail(pre) {
  const status = document.getElementById("tail-status");
  const setStatus = (s) => { if (status) status.textContent = s; };
  const source = new EventSource(pre.dataset.src);
  source.onopen = () => setStatus("live");
  source.onerror = () => setStatus(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting…");
  source.addEventListener("log", (ev) => {
    let e;
    try { e = JSON.parse(ev.data); } catch (err) { return; }
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    const line = document.createElement("div");
    line.className = "line";
    const t = document.createElement("span");
    t.className = "t";
    t.textContent = e.time.replace("T", " ").replace(/\.\d+Z$/, "Z") + " ";
    const s = document.createElement("span");
    s.className = "s";
    s.textContent = e.stream.replace(/^.*\]/, "") + " ";
    line.append(t, s, document.createTextNode(e.message));
    pre.appendChild(line);
    while (pre.childElementCount > maxTailLines) pre.firstElementChild.remove();
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("pre.tail[data-src]").forEach(startTail);
});

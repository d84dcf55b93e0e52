// ringtrack's pages work without this script; it only makes them quicker to use.
"use strict";

// A select marked data-autosubmit (the business switcher) acts as soon as it changes;
// its form's button is then only needed without script.
for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.requestSubmit());
  const button = select.form.querySelector("button[type=submit]");
  if (button) button.hidden = true;
}

// A transcript's times seek the page's player instead of opening the audio alone.
const player = document.getElementById("player");
if (player) {
  for (const link of document.querySelectorAll("a.seek[data-at]")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      player.currentTime = Number(link.dataset.at);
      player.play();
    });
  }
}

// Told by the server (server-sent events at `url`) that the business's calls changed, a
// page reads itself again with its own query and hands the fresh page to `apply`; news that
// comes while it reads is read once more after. `apply` answers false when the page no
// longer reads (signed out, or its query is refused): the page then stays as it is. With
// `part`, the server is asked for that part of the page alone.
function follow(url, apply, part) {
  const source = new EventSource(url);
  let reading = null;
  let again = false;
  const refresh = async () => {
    const headers = part ? { accept: "text/html", "ringtrack-part": part } : { accept: "text/html" };
    const response = await fetch(location.href, { headers });
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    if (!response.ok || !apply(page)) source.close();
  };
  source.addEventListener("calls", () => {
    if (reading) {
      again = true;
      return;
    }
    reading = (async () => {
      do {
        again = false;
        await refresh().catch(() => {});
      } while (again);
      reading = null;
    })();
  });
}

// The log's first page follows calls as they start, end and are scored: it swaps in the
// rows; new rows are marked for a moment and the count is announced politely.
const summary = document.querySelector("#summary[data-live]");
if (summary && window.EventSource) {
  const results = document.getElementById("log-results");
  follow(summary.dataset.live, (page) => {
    const fresh = page.getElementById("log-results");
    const freshSummary = page.getElementById("summary");
    if (!fresh || !freshSummary) return false;
    const seen = new Set([...results.querySelectorAll("tr[id]")].map((row) => row.id));
    for (const row of fresh.querySelectorAll("tr[id]")) {
      if (!seen.has(row.id)) row.classList.add("new");
    }
    results.replaceChildren(...fresh.childNodes);
    if (summary.textContent !== freshSummary.textContent) summary.textContent = freshSummary.textContent;
    return true;
  });
}

// The dashboard's figures follow calls the same way (the charts are not read again),
// swapped in only when they changed.
const figures = document.querySelector("#figures[data-live]");
if (figures && window.EventSource) {
  follow(figures.dataset.live, (page) => {
    const fresh = page.getElementById("figures");
    if (!fresh) return false;
    if (fresh.innerHTML !== figures.innerHTML) figures.replaceChildren(...fresh.childNodes);
    return true;
  }, "figures");
}

// The reply box's counter: the server counts segments as it charges them (one rule), asked
// as the person pauses typing; the counter is announced politely.
for (const box of document.querySelectorAll("textarea[data-segments]")) {
  const counter = document.getElementById(box.getAttribute("aria-describedby"));
  let timer = null;
  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const response = await fetch(`${box.dataset.segments}?body=${encodeURIComponent(box.value)}`);
      if (response.ok) counter.textContent = await response.text();
    }, 150);
  });
}

// Text to copy (a pool's tags): the Copy button, shown only where the clipboard can be
// written, copies it; without script it is selected by hand.
for (const button of document.querySelectorAll("button[data-copy]")) {
  const text = document.getElementById(button.dataset.copy);
  if (!navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    text.select();
    await navigator.clipboard.writeText(text.value).then(
      () => { button.textContent = "Copied"; },
      () => { button.textContent = "Select and copy by hand"; },
    );
  });
}

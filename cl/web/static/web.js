// cl web worksheets: the live parts of the pages (hand-written, no
// libraries, nothing fetched from elsewhere).
//  * a worksheet page polls its /states JSON; when a bundle's state or the
//    worksheet's version changes it fetches the page again and swaps the
//    worksheet in place (expanded rows stay open);
//  * a click on a table row shows the bundle's metadata, files and output
//    below it (another click hides them);
//  * a running bundle's page appends its stdout/stderr as they grow and
//    reloads itself once the run has ended.
"use strict";
(function () {
  const FINAL = new Set(["ready", "failed", "killed"]);
  const base = (document.querySelector('meta[name="cl-base"]') || {}).content || "";
  const expanded = new Set();
  const status = (text) => {
    const el = document.getElementById("live-status");
    if (el) el.textContent = text;
  };
  const getJSON = async (url) => {
    const r = await fetch(url, {credentials: "same-origin", headers: {"accept": "application/json"}});
    if (!r.ok) throw new Error(url + ": " + r.status);
    return r.json();
  };

  // --- a worksheet page ---------------------------------------------------
  function rowsOf(bid) {
    return document.querySelectorAll('main.worksheet tr[data-bundle="0x' + bid + '"]');
  }

  function changed(data) {
    if (data.head !== document.body.dataset.head) return true;
    for (const [bid, state] of Object.entries(data.states)) {
      for (const row of rowsOf(bid)) if ((row.dataset.state || "") !== state) return true;
    }
    return false;
  }

  async function refresh() {
    const r = await fetch(location.href, {credentials: "same-origin"});
    if (!r.ok) throw new Error("page: " + r.status);
    const doc = new DOMParser().parseFromString(await r.text(), "text/html");
    const fresh = doc.querySelector("main.worksheet");
    const here = document.querySelector("main.worksheet");
    if (!fresh || !here) return;
    here.innerHTML = fresh.innerHTML;
    document.body.dataset.head = doc.body.dataset.head || "";
    for (const bid of expanded) {
      for (const row of rowsOf(bid)) await expand(row, bid);
    }
  }

  async function poll() {
    const url = document.body.dataset.states;
    let delay = 1500;
    try {
      const data = await getJSON(url);
      if (changed(data)) await refresh();
      const states = Object.values(data.states);
      const going = states.filter((s) => !FINAL.has(s)).length;
      status(going ? going + " bundle(s) not finished · watching" : "all bundles finished");
      if (!going) delay = 5000;
    } catch (err) {
      status("lost touch with the server; retrying");
      delay = 5000;
    }
    setTimeout(poll, delay);
  }

  async function expand(row, bid) {
    const detail = document.createElement("tr");
    detail.className = "detail";
    detail.dataset.detailOf = bid;
    const cell = document.createElement("td");
    cell.colSpan = row.children.length;
    cell.textContent = "loading…";
    detail.appendChild(cell);
    let after = row;
    if (after.nextElementSibling && after.nextElementSibling.classList.contains("failure")) after = after.nextElementSibling;
    after.after(detail);
    row.classList.add("expanded");
    const r = await fetch(base + "/bundles/0x" + bid + "/summary", {credentials: "same-origin"});
    cell.innerHTML = r.ok ? await r.text() : "";
    if (!r.ok) cell.textContent = "cannot show this bundle (" + r.status + ")";
  }

  function collapse(bid) {
    document.querySelectorAll('tr.detail[data-detail-of="' + bid + '"]').forEach((d) => d.remove());
    rowsOf(bid).forEach((row) => row.classList.remove("expanded"));
  }

  document.addEventListener("click", (ev) => {
    const row = ev.target.closest("main.worksheet table.bundles tr[data-bundle]");
    if (!row || ev.target.closest("a, button, input, textarea")) return;
    const bid = row.dataset.bundle.replace(/^0x/, "");
    if (expanded.has(bid)) {
      expanded.delete(bid);
      collapse(bid);
    } else {
      expanded.add(bid);
      expand(row, bid);
    }
  });

  // --- a bundle page --------------------------------------------------------
  async function follow(main) {
    const bid = main.dataset.bundle;
    const live = Array.from(document.querySelectorAll("pre.output[data-live]"));
    let ended = FINAL.has(main.dataset.state);
    for (const pre of live) {
      try {
        const got = await getJSON(base + "/bundles/0x" + bid + "/output/" + pre.dataset.stream +
                                  "?offset=" + pre.dataset.offset);
        if (got.data) pre.append(document.createTextNode(got.data));
        pre.dataset.offset = got.offset;
        if (got.final) ended = true;
        const st = document.getElementById("bundle-state");
        if (st && st.textContent !== got.state) {
          st.textContent = got.state;
          st.className = "state-" + got.state;
        }
      } catch (err) { /* try again below */ }
    }
    if (!live.length) {
      try {
        const got = await getJSON(base + "/bundles/0x" + bid + "/state");
        if (got.state !== main.dataset.state) { location.reload(); return; }
      } catch (err) { /* try again */ }
    }
    if (ended && live.length) { location.reload(); return; }
    setTimeout(() => follow(main), 1000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (document.body.dataset.states) poll();
    const main = document.querySelector("main.bundle-page");
    if (main && !FINAL.has(main.dataset.state)) follow(main);
  });
})();

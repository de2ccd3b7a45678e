// The agent console's tabs and its Review tab: the review report of this
// server's conversations (POST review, with the agent token). Every piece of
// text from the server is set with textContent, never parsed as HTML.
"use strict";

(function () {
  const tabs = Array.from(document.querySelectorAll('[role="tab"]'));
  const form = document.getElementById("review-form");
  const tokenInput = document.getElementById("token");
  const since = document.getElementById("review-since");
  const until = document.getElementById("review-until");
  const showButton = document.getElementById("review-show");
  const downloadButton = document.getElementById("review-download");
  const status = document.getElementById("review-status");
  const result = document.getElementById("review-result");
  let reportHtml = "";

  // ---- tabs (WAI-ARIA pattern: arrows, Home and End move between tabs) ----

  function select(tab, moveFocus) {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    }
    if (moveFocus) tab.focus();
  }

  tabs.forEach(function (tab, index) {
    tab.addEventListener("click", function () { select(tab, false); });
    tab.addEventListener("keydown", function (event) {
      const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
      if (!(event.key in moves)) return;
      event.preventDefault();
      select(tabs[(moves[event.key] + tabs.length) % tabs.length], true);
    });
  });

  // ---- the review ----------------------------------------------------------

  function el(tag, text) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function showStatus(message, isError) {
    status.textContent = message;
    status.classList.toggle("error", Boolean(isError));
  }

  function renderTable(section) {
    if (!section.rows.length) {
      return el("p", section.title + ": none in this period.");
    }
    const table = el("table");
    table.appendChild(el("caption", section.title));
    const head = el("thead");
    const headRow = el("tr");
    for (const column of section.columns) {
      const th = el("th", column);
      th.scope = "col";
      headRow.appendChild(th);
    }
    head.appendChild(headRow);
    const body = el("tbody");
    for (const row of section.rows) {
      const tr = el("tr");
      for (const value of row) tr.appendChild(el("td", value));
      body.appendChild(tr);
    }
    table.append(head, body);
    return table;
  }

  function render(report) {
    result.replaceChildren();
    const period = el("p", "From " + report.period.since.slice(0, 16).replace("T", " ") +
      " UTC up to (not including) " + report.period.until.slice(0, 16).replace("T", " ") + " UTC.");
    const figures = el("dl");
    figures.className = "pairs";
    for (const [label, value] of report.summary) {
      figures.append(el("dt", label), el("dd", value));
    }
    result.append(period, figures, el("p", report.retention));
    for (const section of report.tables) result.appendChild(renderTable(section));
    if (report.outcomes) {
      const legend = el("dl");
      legend.className = "pairs";
      for (const [name, meaning] of report.outcomes) legend.append(el("dt", name), el("dd", meaning));
      result.append(el("h3", "What the outcomes mean"), legend);
    }
  }

  async function showReview(event) {
    event.preventDefault();
    const token = tokenInput.value.trim();
    if (!token) {
      showStatus("Enter your agent token.", true);
      tokenInput.focus();
      return;
    }
    showButton.disabled = true;
    showStatus("Reading the conversations...", false);
    try {
      const reply = await fetch("review", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
        body: JSON.stringify({ since: since.value || null, until: until.value || null }),
      });
      if (reply.status === 401) {
        showStatus("The token was not accepted. Check it and try again.", true);
        tokenInput.focus();
        return;
      }
      const report = await reply.json();
      if (!reply.ok) {
        showStatus(report.error || "The review could not be made.", true);
        return;
      }
      render(report);
      reportHtml = report.html;
      downloadButton.disabled = false;
      showStatus("Review ready.", false);
    } catch (error) {
      showStatus("The server could not be reached.", true);
    } finally {
      showButton.disabled = false;
    }
  }

  // The full report as a file (it is one self-contained page).
  downloadButton.addEventListener("click", function () {
    if (!reportHtml) return;
    const link = el("a");
    link.href = URL.createObjectURL(new Blob([reportHtml], { type: "text/html" }));
    link.download = "review-report.html";
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
  });

  form.addEventListener("submit", showReview);
})();

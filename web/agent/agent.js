// Agent console: preview an answer, see why, copy it, share it, flag it.
// Every piece of text from the server is set with textContent, never parsed as
// HTML: answers and rule texts are data, not markup. "What the member sees" is
// drawn by the chat widget's own renderer (web/widget/render.js,
// window.HcscChatRender), so it is the member's view, not a copy of it.
"use strict";

(function () {
  // The agent token lives in sessionStorage: it survives a reload of this tab
  // and goes when the tab closes. Never in localStorage, a cookie or a URL.
  const TOKEN_KEY = "hcscAgent.token";
  // Share links carry the question and plan context in the fragment (#...),
  // which browsers never send to a server, and never the token.
  const LINK_KEYS = { question: "q", state: "state", planType: "plan", history: "h", language: "lang" };
  // The assistant's languages, each named in its own language.
  const LANGUAGE_NAMES = { en: "English", es: "Español" };

  const form = document.getElementById("preview-form");
  const tokenInput = document.getElementById("token");
  const forgetButton = document.getElementById("forget-token");
  const questionInput = document.getElementById("question");
  const stateSelect = document.getElementById("state");
  const planTypeSelect = document.getElementById("plan-type");
  const languageSelect = document.getElementById("language");
  const historyInput = document.getElementById("history");
  const askButton = document.getElementById("ask");
  const status = document.getElementById("status");
  const result = document.getElementById("result");
  const why = document.getElementById("why");
  const emptyNote = document.getElementById("empty-note");
  const memberView = document.getElementById("member-messages");
  const rendererMissing = document.getElementById("renderer-missing");
  const copyButton = document.getElementById("copy-answer");
  const copyStatus = document.getElementById("copy-status");
  const flagButton = document.getElementById("flag-answer");
  const flagForm = document.getElementById("flag-form");
  const flagNote = document.getElementById("flag-note");
  const flagSend = document.getElementById("flag-send");
  const flagCancel = document.getElementById("flag-cancel");
  const flagStatus = document.getElementById("flag-status");
  const shareLink = document.getElementById("share-link");
  const copyLinkButton = document.getElementById("copy-link");

  // The last preview: what was asked and what came back (for copy and flag).
  let last = null;

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function percent(confidence) {
    if (typeof confidence !== "number") return "n/a";
    // "<1%" rather than a misleading "0%" for an intent the model did consider.
    return confidence > 0 && confidence < 0.005 ? "<1%" : Math.round(confidence * 100) + "%";
  }

  function showStatus(node, message, isError) {
    node.textContent = message;
    node.classList.toggle("error", Boolean(isError));
  }

  // ---- the token -----------------------------------------------------------

  function storedToken() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY) || "";
    } catch (error) {
      return "";
    }
  }

  function storeToken(token) {
    try {
      if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
      else window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (error) {
      // Storage blocked: the agent types the token again after a reload.
    }
    // Offered once there is a token to forget (so Tab goes from the token to the question).
    forgetButton.hidden = !storedToken();
  }

  function authHeaders() {
    return { "Content-Type": "application/json", Authorization: "Bearer " + tokenInput.value.trim() };
  }

  // ---- plan context pickers --------------------------------------------------

  async function loadPlanContext() {
    // The pickers offer exactly the states and plan types the rules know.
    try {
      const reply = await fetch("plan-context", { headers: { Accept: "application/json" } });
      if (!reply.ok) throw new Error(String(reply.status));
      const values = await reply.json();
      for (const [select, options] of [[stateSelect, values.state], [planTypeSelect, values.plan_type]]) {
        for (const [value, label] of Object.entries(options)) {
          const option = el("option", label);
          option.value = value;
          select.appendChild(option);
        }
      }
    } catch (error) {
      showStatus(status, "Could not load the states and plan types; reload the page.", true);
    }
  }

  // ---- the question: from the form, and as a share link -----------------------

  function questionFromForm() {
    return {
      text: questionInput.value.trim(),
      state: stateSelect.value || null,
      plan_type: planTypeSelect.value || null,
      language: languageSelect.value || null,
      history: historyInput.value.split("\n").map((line) => line.trim()).filter(Boolean),
    };
  }

  // The link reproduces the preview: the texts as the assistant read them
  // (personal details already replaced by the server), the plan context, no token.
  function linkFor(question, readAs) {
    const params = new URLSearchParams();
    params.set(LINK_KEYS.question, readAs ? readAs.text : question.text);
    if (question.state) params.set(LINK_KEYS.state, question.state);
    if (question.plan_type) params.set(LINK_KEYS.planType, question.plan_type);
    if (question.language) params.set(LINK_KEYS.language, question.language);
    for (const message of readAs ? readAs.history : question.history) params.append(LINK_KEYS.history, message);
    const url = new URL(window.location.href);
    url.search = "";
    url.hash = params.toString();
    return url.href;
  }

  function selectIfOffered(select, value) {
    if (Array.from(select.options).some((option) => option.value === value)) select.value = value;
  }

  // Fills the form from a share link; true when the link held a question.
  function applyLink() {
    const params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    const text = params.get(LINK_KEYS.question);
    if (!text) return false;
    questionInput.value = text;
    selectIfOffered(stateSelect, params.get(LINK_KEYS.state) || "");
    selectIfOffered(planTypeSelect, params.get(LINK_KEYS.planType) || "");
    selectIfOffered(languageSelect, params.get(LINK_KEYS.language) || "");
    historyInput.value = params.getAll(LINK_KEYS.history).join("\n");
    return true;
  }

  // ---- what the member sees ------------------------------------------------------

  function renderer() {
    const shared = window.HcscChatRender;
    return shared && typeof shared.renderAnswer === "function" ? shared : null;
  }

  function coverages(messages) {
    return messages
      .map((message) => message && message.custom && message.custom.coverage)
      .filter((coverage) => coverage && typeof coverage === "object");
  }

  // The answer as text for the clipboard: its text, its references and the
  // ID-card line. The widget's renderer says how it reads as text when it
  // can (the same words the member's transcript has).
  function answerAsText(messages) {
    const shared = renderer();
    if (shared && typeof shared.answerText === "function") return shared.answerText(messages);
    const lines = [];
    for (const message of messages) {
      if (message.text) lines.push(message.text);
      if (Array.isArray(message.buttons) && message.buttons.length) {
        lines.push("[" + message.buttons.map((button) => button.title).join("] [") + "]");
      }
      const coverage = message.custom && message.custom.coverage;
      if (coverage && Array.isArray(coverage.citations) && coverage.citations.length) {
        lines.push("Based on: " + coverage.citations.join("; "));
      }
    }
    return lines.join("\n");
  }

  function languageName(code) {
    return (LANGUAGE_NAMES[code] || String(code)) + " (" + code + ")";
  }

  // The answer's language, from the server (English when an older server does not say).
  function answerLanguage(data) {
    return (data.language && data.language.answer) || "en";
  }

  function renderMember(messages, language) {
    memberView.replaceChildren();
    // Screen readers read the member's view in the answer's language.
    memberView.lang = language;
    const name = document.getElementById("answer-language");
    name.textContent = LANGUAGE_NAMES[language] || language;
    name.lang = language;
    const shared = renderer();
    rendererMissing.hidden = Boolean(shared);
    if (shared) {
      // No onQuickReply: the buttons show as the member sees them, inert here.
      shared.renderAnswer(memberView, messages, { lang: language });
    } else {
      for (const line of answerAsText(messages).split("\n")) memberView.appendChild(el("p", line));
    }
  }

  // ---- why ---------------------------------------------------------------------------

  function listOrNone(list) {
    if (!list.firstChild) list.appendChild(el("li", "none"));
  }

  function renderRule(rule) {
    const item = el("li");
    const title = el("p", null, "rule-title");
    title.append(el("span", rule.id, "rule-id code"), el("span", " (" + rule.kind + ")", "rule-kind"));
    item.appendChild(title);
    item.appendChild(el("p", rule.kind === "redirect" ? "Redirects the question to " + rule.redirect_to : rule.text));
    const quotes = Array.isArray(rule.source) ? rule.source : [];
    if (quotes.length) {
      item.appendChild(el("p", "The source article says:", "label"));
      const list = el("ul", null, "quotes");
      for (const quote of quotes) {
        const entry = el("li");
        entry.appendChild(el("q", quote));
        list.appendChild(entry);
      }
      item.appendChild(list);
    }
    const references = Array.isArray(rule.references) ? rule.references : [];
    item.appendChild(el("p", "References: " + (references.length ? "" : "none"), "label"));
    if (references.length) {
      const list = el("ul", null, "refs");
      for (const reference of references) list.appendChild(el("li", reference.id + ": " + reference.title));
      item.appendChild(list);
    }
    return item;
  }

  // The answer's language, the one asked for, and what the detector found in the words.
  function describeLanguage(data) {
    const info = data.language || {};
    const parts = ["Answer in " + languageName(answerLanguage(data))];
    parts.push(info.requested ? "asked for " + languageName(info.requested) : "no language asked for");
    const detected = info.detected;
    if (detected && detected.language) {
      parts.push(
        "detected " + languageName(detected.language) + ", " + percent(detected.confidence) + " sure" +
          (detected.clear ? "" : " (not clear enough to decide)"),
      );
    } else {
      parts.push(detected ? "no language detected in the words" : "not detected (a button's command skips NLU)");
    }
    return parts.join("; ") + ".";
  }

  function renderWhy(data) {
    document.getElementById("fallback-note").hidden = !data.fallback;
    document.getElementById("language-info").textContent = describeLanguage(data);

    const outcome = document.getElementById("outcome");
    outcome.replaceChildren();
    if (data.outcome) {
      outcome.append(el("span", data.outcome.name, "code"), el("span", ": " + data.outcome.meaning));
      const decidedBy = data.coverage && data.coverage.decided_by;
      if (decidedBy) outcome.append(el("span", " Decided by "), el("span", decidedBy, "code"), el("span", "."));
    } else {
      outcome.textContent = "No coverage answer in this reply.";
    }

    const rules = document.getElementById("rules");
    rules.replaceChildren();
    for (const rule of data.rules || []) rules.appendChild(renderRule(rule));
    listOrNone(rules);

    const references = document.getElementById("references");
    references.replaceChildren();
    const citations = new Set();
    for (const coverage of coverages(data.messages || [])) {
      for (const citation of coverage.citations || []) citations.add(citation);
    }
    for (const citation of citations) references.appendChild(el("li", citation));
    listOrNone(references);

    const intent = data.intent || {};
    document.getElementById("intent-name").textContent = intent.name || "none";
    document.getElementById("intent-percent").textContent = "(" + percent(intent.confidence) + " sure)";
    const meter = document.getElementById("intent-confidence");
    meter.value = typeof intent.confidence === "number" ? intent.confidence : 0;
    meter.textContent = percent(intent.confidence);

    const ranking = document.getElementById("intent-ranking");
    ranking.replaceChildren();
    for (const candidate of data.intent_ranking || []) {
      ranking.appendChild(el("li", candidate.name + ": " + percent(candidate.confidence)));
    }

    document.getElementById("read-as").textContent = data.read_as ? data.read_as.text : "";

    const entities = document.getElementById("entities");
    entities.replaceChildren();
    for (const entity of data.entities || []) entities.appendChild(el("li", entity.entity + " = " + entity.value));
    listOrNone(entities);

    const slots = document.getElementById("slots");
    slots.replaceChildren();
    for (const [name, value] of Object.entries(data.slots || {})) {
      slots.append(el("dt", name), el("dd", value === null ? "not set" : typeof value === "object" ? JSON.stringify(value) : value));
    }

    const actions = document.getElementById("actions");
    actions.replaceChildren();
    for (const action of data.actions || []) {
      actions.appendChild(el("li", action.name + (action.policy ? " (" + action.policy + ")" : "")));
    }
  }

  // ---- asking ------------------------------------------------------------------------

  async function preview(event) {
    if (event) event.preventDefault();
    const token = tokenInput.value.trim();
    const question = questionFromForm();
    if (!token) {
      showStatus(status, "Enter your agent token.", true);
      tokenInput.focus();
      return;
    }
    if (!question.text) {
      showStatus(status, "Enter the member's question.", true);
      questionInput.focus();
      return;
    }
    askButton.disabled = true;
    showStatus(status, "Asking the assistant…", false);
    try {
      const reply = await fetch("answer", { method: "POST", headers: authHeaders(), body: JSON.stringify(question) });
      if (reply.status === 401) {
        storeToken("");
        result.hidden = true;
        why.hidden = true;
        emptyNote.hidden = false;
        showStatus(status, "The token was not accepted. Check it and try again.", true);
        tokenInput.focus();
        return;
      }
      const data = await reply.json();
      if (!reply.ok) {
        showStatus(status, "The preview failed: " + (data.error || reply.status), true);
        return;
      }
      storeToken(token);
      show(question, data);
    } catch (error) {
      showStatus(status, "Could not reach the assistant. Is it running?", true);
    } finally {
      askButton.disabled = false;
    }
  }

  function show(question, data) {
    const messages = Array.isArray(data.messages) ? data.messages : [];
    last = { question: question, data: data, text: answerAsText(messages) };
    renderMember(messages, answerLanguage(data));
    renderWhy(data);
    copyButton.disabled = last.text === "";
    copyStatus.textContent = "";
    resetFlag();
    shareLink.value = linkFor(question, data.read_as);
    // The address bar holds the same link, so a reload shows this preview again.
    window.history.replaceState(null, "", shareLink.value);
    emptyNote.hidden = true;
    result.hidden = false;
    why.hidden = false;
    showStatus(status, "Answer ready.", false);
    // Beside the form on a wide screen; on a narrow one, bring the answer's first line into view.
    const heading = document.getElementById("member-heading");
    if (heading.getBoundingClientRect().top > window.innerHeight * 0.6) heading.scrollIntoView({ block: "start" });
  }

  // ---- copy ----------------------------------------------------------------------------

  async function copy(text, node, done) {
    try {
      await navigator.clipboard.writeText(text);
      showStatus(node, done, false);
    } catch (error) {
      showStatus(node, "Copy failed: select the text and copy it by hand.", true);
    }
  }

  // ---- flag ------------------------------------------------------------------------------

  function resetFlag() {
    flagForm.hidden = true;
    flagButton.setAttribute("aria-expanded", "false");
    flagButton.disabled = false;
    flagNote.value = "";
    flagStatus.textContent = "";
  }

  function openFlag() {
    const open = flagForm.hidden;
    flagForm.hidden = !open;
    flagButton.setAttribute("aria-expanded", String(open));
    if (open) flagNote.focus();
  }

  async function sendFlag(event) {
    event.preventDefault();
    if (!last) return;
    const note = flagNote.value.trim();
    if (!note) {
      showStatus(flagStatus, "Say what is wrong with the answer.", true);
      flagNote.focus();
      return;
    }
    // The server previews the question again and records that answer, its
    // rules and intent: what is stored never depends on this page.
    const body = Object.assign({}, last.question, { note: note });
    flagSend.disabled = true;
    try {
      const reply = await fetch("flag", { method: "POST", headers: authHeaders(), body: JSON.stringify(body) });
      if (reply.status === 401) {
        showStatus(flagStatus, "The token was not accepted. Check it and try again.", true);
        return;
      }
      const data = await reply.json();
      if (!reply.ok) {
        showStatus(flagStatus, "The flag was not stored: " + (data.error || reply.status), true);
        return;
      }
      flagForm.hidden = true;
      flagButton.setAttribute("aria-expanded", "false");
      flagButton.disabled = true;
      showStatus(flagStatus, "Flagged for content owners. Stored note: " + data.flagged.note, false);
      flagButton.focus();
    } catch (error) {
      showStatus(flagStatus, "Could not reach the assistant. Is it running?", true);
    } finally {
      flagSend.disabled = false;
    }
  }

  // ---- wiring ------------------------------------------------------------------------------

  form.addEventListener("submit", preview);
  // Ctrl+Enter (or Cmd+Enter) in a text box asks, as Enter does in the token field.
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.tagName === "TEXTAREA") {
      form.requestSubmit();
    }
  });
  forgetButton.addEventListener("click", () => {
    storeToken("");
    tokenInput.value = "";
    showStatus(status, "Token forgotten in this tab.", false);
    tokenInput.focus();
  });
  copyButton.addEventListener("click", () => last && copy(last.text, copyStatus, "Answer copied."));
  copyLinkButton.addEventListener("click", () => copy(shareLink.value, copyStatus, "Link copied (it holds no token)."));
  flagButton.addEventListener("click", openFlag);
  flagCancel.addEventListener("click", () => {
    resetFlag();
    flagButton.focus();
  });
  flagForm.addEventListener("submit", sendFlag);

  tokenInput.value = storedToken();
  forgetButton.hidden = !tokenInput.value;
  loadPlanContext().then(() => {
    if (!applyLink()) return;
    if (tokenInput.value.trim()) {
      preview(null);
    } else {
      showStatus(status, "A shared preview: enter your agent token and press Enter to see it.", false);
      tokenInput.focus();
    }
  });
})();

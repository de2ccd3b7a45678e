// Agent preview page. Every piece of text from the server is set with
// textContent, never parsed as HTML: answers and rule texts are data, not markup.
"use strict";

(function () {
  const form = document.getElementById("preview-form");
  const tokenInput = document.getElementById("token");
  const questionInput = document.getElementById("question");
  const stateSelect = document.getElementById("state");
  const planTypeSelect = document.getElementById("plan-type");
  const historyInput = document.getElementById("history");
  const askButton = document.getElementById("ask");
  const status = document.getElementById("status");
  const result = document.getElementById("result");
  const copyButton = document.getElementById("copy-answer");
  const copyStatus = document.getElementById("copy-status");

  // The member-facing text of the last answer, for the copy button.
  let answerText = "";

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function percent(confidence) {
    if (typeof confidence !== "number") return "n/a";
    // "<1%" rather than a misleading "0%" for an intent the model did consider.
    return confidence > 0 && confidence < 0.005 ? "<1%" : Math.round(confidence * 100) + "%";
  }

  function showStatus(message, isError) {
    status.textContent = message;
    status.classList.toggle("error", Boolean(isError));
  }

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
      showStatus("Could not load the states and plan types; reload the page.", true);
    }
  }

  function renderMessages(messages) {
    const list = document.getElementById("member-messages");
    clear(list);
    const texts = [];
    for (const message of messages) {
      const item = el("li");
      if (message.text) {
        item.appendChild(el("span", message.text));
        texts.push(message.text);
      }
      if (Array.isArray(message.buttons) && message.buttons.length) {
        const choices = el("ul", null, "choices");
        choices.setAttribute("aria-label", "Buttons the member can pick");
        for (const button of message.buttons) {
          const choice = el("li", button.title, "choice");
          choice.title = "Sends " + button.payload;
          choices.appendChild(choice);
        }
        item.appendChild(choices);
      }
      if (message.custom !== undefined) {
        item.classList.add("payload");
        item.appendChild(el("span", "Data sent to the chat with the answer (not shown as text):"));
        item.appendChild(el("pre", JSON.stringify(message.custom, null, 2)));
      }
      if (message.image) item.appendChild(el("span", "Image: " + message.image));
      list.appendChild(item);
    }
    answerText = texts.join("\n\n");
    copyButton.disabled = answerText === "";
    copyStatus.textContent = "";
  }

  function renderWhy(data) {
    document.getElementById("fallback-note").hidden = !data.fallback;

    const intent = data.intent || {};
    document.getElementById("intent-name").textContent = intent.name || "none";
    document.getElementById("intent-percent").textContent = "(" + percent(intent.confidence) + " sure)";
    const meter = document.getElementById("intent-confidence");
    meter.value = typeof intent.confidence === "number" ? intent.confidence : 0;
    meter.textContent = percent(intent.confidence);

    const ranking = document.getElementById("intent-ranking");
    clear(ranking);
    for (const candidate of data.intent_ranking || []) {
      ranking.appendChild(el("li", candidate.name + ": " + percent(candidate.confidence)));
    }

    const entities = document.getElementById("entities");
    clear(entities);
    for (const entity of data.entities || []) {
      entities.appendChild(el("li", entity.entity + " = " + entity.value));
    }
    if (!entities.firstChild) entities.appendChild(el("li", "none"));

    const slots = document.getElementById("slots");
    clear(slots);
    for (const [name, value] of Object.entries(data.slots || {})) {
      slots.appendChild(el("dt", name));
      slots.appendChild(el("dd", value === null ? "not set" : value));
    }

    const outcome = document.getElementById("outcome");
    clear(outcome);
    if (data.outcome) {
      outcome.appendChild(el("span", data.outcome.name, "code"));
      outcome.appendChild(el("span", ": " + data.outcome.meaning));
    } else {
      outcome.textContent = "No coverage answer in this reply.";
    }

    const rules = document.getElementById("rules");
    clear(rules);
    for (const rule of data.rules || []) {
      const item = el("li");
      item.appendChild(el("span", rule.id, "rule-id code"));
      const detail = rule.kind === "redirect" ? "redirects the question to " + rule.redirect_to : rule.text;
      item.appendChild(el("p", detail));
      rules.appendChild(item);
    }
    if (!rules.firstChild) rules.appendChild(el("li", "none"));

    const references = document.getElementById("references");
    clear(references);
    for (const citation of (data.coverage && data.coverage.citations) || []) {
      references.appendChild(el("li", citation));
    }
    if (!references.firstChild) references.appendChild(el("li", "none"));

    const actions = document.getElementById("actions");
    clear(actions);
    for (const action of data.actions || []) {
      actions.appendChild(el("li", action.name + (action.policy ? " (" + action.policy + ")" : "")));
    }
  }

  async function preview(event) {
    event.preventDefault();
    const token = tokenInput.value.trim();
    const text = questionInput.value.trim();
    if (!token) {
      showStatus("Enter your agent token.", true);
      tokenInput.focus();
      return;
    }
    if (!text) {
      showStatus("Enter the member's question.", true);
      questionInput.focus();
      return;
    }
    const body = {
      text: text,
      state: stateSelect.value || null,
      plan_type: planTypeSelect.value || null,
      history: historyInput.value.split("\n").map((line) => line.trim()).filter(Boolean),
    };
    askButton.disabled = true;
    showStatus("Asking the assistant…", false);
    try {
      const reply = await fetch("answer", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
        body: JSON.stringify(body),
      });
      if (reply.status === 401) {
        result.hidden = true;
        showStatus("The token was not accepted. Check it and try again.", true);
        tokenInput.focus();
        return;
      }
      const data = await reply.json();
      if (!reply.ok) {
        showStatus("The preview failed: " + (data.error || reply.status), true);
        return;
      }
      renderMessages(data.messages || []);
      renderWhy(data);
      result.hidden = false;
      showStatus("Answer ready.", false);
    } catch (error) {
      showStatus("Could not reach the assistant. Is it running?", true);
    } finally {
      askButton.disabled = false;
    }
  }

  async function copyAnswer() {
    try {
      await navigator.clipboard.writeText(answerText);
      copyStatus.textContent = "Answer copied.";
    } catch (error) {
      copyStatus.textContent = "Copy failed: select the answer and copy it by hand.";
    }
  }

  form.addEventListener("submit", preview);
  // Ctrl+Enter (or Cmd+Enter) in a text box asks, as Enter does in the token field.
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.tagName === "TEXTAREA") {
      form.requestSubmit();
    }
  });
  copyButton.addEventListener("click", copyAnswer);
  loadPlanContext();
})();

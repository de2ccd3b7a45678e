/*
 * How the assistant's answer looks: one turn of bot messages -> DOM.
 *
 * Shared by the member chat widget (widget.js) and the agent console's "What
 * the member sees", so the two can never differ. A plain script (no modules,
 * no build step); load it before the script that uses it:
 *
 *   <script src=".../widget/render.js"></script>
 *
 *   const root = window.HcscChatRender.renderAnswer(container, botMessages, options);
 *
 * botMessages: the socket.io `bot_uttered` payloads of one turn, in order, as
 * Rasa sends them: {text?, quick_replies? or buttons?, custom?}. A coverage
 * answer is its text, then {custom: {coverage: {citations: [...], ...}}} (with
 * `blocks` when the answer has numbered steps, plan_coverage/replies.py);
 * then perhaps the plan-type question with its buttons; and last the closing
 * (ID-card) line. Shown as: one bubble per answer with its text, the closing
 * line as its last sentence and its "Based on" references; each question
 * with buttons directly above them.
 *
 * options: {labels?, quickReplies? (false: none), onQuickReply?, lang?: the
 * turn's language, set on the turn and each bubble for screen readers}.
 *
 * Every text goes into the page with textContent, never parsed as HTML.
 */
(function () {
  "use strict";

  const LABELS = {
    assistant: "Assistant said: ",
    sources: "Based on: ",
    quickReplies: "Suggested answers",
    you: "You: ",
    assistantLine: "Assistant: ",
  };

  // ---- the model: what one turn shows ------------------------------------

  // A turn's messages -> items, in the order shown:
  //   {kind: "bubble", paragraphs: [{text} | {steps: [...]}], closing: [...],
  //    sources: [...], coverage: bool}
  //   {kind: "question", text, replies: [{title, payload}]}
  // Closing lines (texts after the last coverage answer, without buttons)
  // end the last answer's bubble.
  function answerParts(botMessages) {
    const messages = (Array.isArray(botMessages) ? botMessages : []).map(normalise).filter(Boolean);
    let lastCoverage = -1;
    messages.forEach(function (message, index) {
      if (message.coverage) {
        lastCoverage = index;
      }
    });
    const items = [];
    let lastAnswer = null;
    for (let index = 0; index < messages.length; index += 1) {
      const message = messages[index];
      const next = messages[index + 1];
      if (message.text && next && next.coverage && !next.text) {
        lastAnswer = {
          kind: "bubble",
          paragraphs: paragraphsOf(message.text, next.blocks),
          closing: [],
          sources: next.sources,
          coverage: true,
        };
        items.push(lastAnswer);
        index += 1;
      } else if (message.coverage) {
        // References without their text: they belong to the answer before.
        if (lastAnswer) {
          lastAnswer.sources = lastAnswer.sources.concat(message.sources);
        }
      } else if (message.text && message.replies) {
        items.push({ kind: "question", text: message.text, replies: message.replies });
      } else if (message.text && lastAnswer && index > lastCoverage) {
        lastAnswer.closing.push(message.text);
      } else if (message.text) {
        items.push({ kind: "bubble", paragraphs: [{ text: message.text }], closing: [], sources: [], coverage: false });
      }
    }
    return items;
  }

  // One bot_uttered payload, with only what is shown, in checked types.
  function normalise(data) {
    if (!data || typeof data !== "object") {
      return null;
    }
    const text = typeof data.text === "string" && data.text ? data.text : null;
    const custom = data.custom && typeof data.custom === "object" ? data.custom : null;
    const coverage = custom && custom.coverage && typeof custom.coverage === "object" ? custom.coverage : null;
    if (!text && !coverage) {
      return null;
    }
    return {
      text: text,
      replies: quickRepliesFrom(data.quick_replies) || quickRepliesFrom(data.buttons),
      coverage: Boolean(coverage),
      sources: coverage ? stringsFrom(coverage.citations) : [],
      blocks: custom ? blocksFrom(custom.blocks) : null,
    };
  }

  // The structured form of an answer text is used only when it says exactly
  // what the text says (numbered "1. ", as plan_coverage builds the text);
  // otherwise the text is shown as it is.
  function paragraphsOf(text, blocks) {
    if (blocks && plainText(blocks) === text) {
      return blocks;
    }
    return [{ text: text }];
  }

  function plainText(blocks) {
    return blocks.map(function (block) {
      if (block.steps) {
        return block.steps.map(function (step, index) { return (index + 1) + ". " + step; }).join(" ");
      }
      return block.text;
    }).join(" ");
  }

  function blocksFrom(value) {
    if (!Array.isArray(value) || !value.length) {
      return null;
    }
    const blocks = [];
    for (const block of value) {
      if (block && typeof block.text === "string" && block.text) {
        blocks.push({ text: block.text });
      } else if (block && Array.isArray(block.steps) && block.steps.length) {
        const steps = stringsFrom(block.steps);
        if (steps.length !== block.steps.length) {
          return null;
        }
        blocks.push({ steps: steps });
      } else {
        return null;
      }
    }
    return blocks;
  }

  function stringsFrom(value) {
    return Array.isArray(value) ? value.filter(function (item) { return typeof item === "string" && item; }) : [];
  }

  function quickRepliesFrom(replies) {
    if (!Array.isArray(replies)) {
      return null;
    }
    const valid = replies.filter(function (reply) {
      return reply && typeof reply.title === "string" && reply.title && typeof reply.payload === "string";
    }).map(function (reply) {
      return { title: reply.title, payload: reply.payload };
    });
    return valid.length ? valid : null;
  }

  // ---- the view: DOM -----------------------------------------------------

  // Appends the turn's answer to `container` and returns its root element.
  // options (all optional):
  //   onQuickReply(reply, event): makes the buttons work; without it they are
  //     shown as the member sees them, marked aria-disabled.
  //   quickReplies: false leaves the buttons out (an answer the member has
  //     moved on from).
  //   labels: replaces any of LABELS (words for screen readers and the
  //     references line).
  function renderAnswer(container, botMessages, options) {
    const settings = options || {};
    const labels = Object.assign({}, LABELS, settings.labels || {});
    const root = element("div", { class: "hcsc-chat__turn" });
    // The turn's language on it and on each bubble, so screen readers switch voice.
    if (settings.lang) {
      root.setAttribute("lang", settings.lang);
    }
    function languageOf(node) {
      if (settings.lang) {
        node.setAttribute("lang", settings.lang);
      }
      return node;
    }
    answerParts(botMessages).forEach(function (item) {
      if (item.kind === "bubble") {
        root.append(languageOf(bubble(item, labels)));
      } else {
        root.append(languageOf(bubble({ paragraphs: [{ text: item.text }], closing: [], sources: [] }, labels)));
        if (settings.quickReplies !== false) {
          root.append(quickReplyGroup(item.replies, labels, settings.onQuickReply));
        }
      }
    });
    if (container) {
      container.append(root);
    }
    return root;
  }

  function bubble(item, labels) {
    const node = element("div", { class: "hcsc-chat__message hcsc-chat__message--bot" });
    if (item.coverage) {
      node.setAttribute("data-coverage", "true");
    }
    const body = element("div", { class: "hcsc-chat__body" });
    let last = null;
    item.paragraphs.forEach(function (block) {
      if (block.steps) {
        last = element("ol", { class: "hcsc-chat__steps" });
        block.steps.forEach(function (step) { last.append(element("li", {}, step)); });
      } else {
        last = element("p", { class: "hcsc-chat__text" }, block.text);
      }
      body.append(last);
    });
    if (item.closing.length) {
      // The closing line is the answer's last sentence.
      if (!last || last.tagName !== "P") {
        last = element("p", { class: "hcsc-chat__text" });
        body.append(last);
      }
      last.append(element("span", { class: "hcsc-chat__closing" }, (last.textContent ? " " : "") + item.closing.join(" ")));
    }
    node.append(element("span", { class: "hcsc-chat__visually-hidden" }, labels.assistant), body);
    if (item.sources.length) {
      const note = element("p", { class: "hcsc-chat__sources" });
      note.append(element("span", { class: "hcsc-chat__sources-label" }, labels.sources), item.sources.join("; "));
      node.append(note);
    }
    return node;
  }

  function quickReplyGroup(replies, labels, onQuickReply) {
    const group = element("div", {
      class: "hcsc-chat__quick-replies",
      role: "group",
      "aria-label": labels.quickReplies,
    });
    replies.forEach(function (reply) {
      const button = element("button", { type: "button", class: "hcsc-chat__quick-reply" }, reply.title);
      if (typeof onQuickReply === "function") {
        button.addEventListener("click", function (event) { onQuickReply(reply, event); });
      } else {
        button.setAttribute("aria-disabled", "true");
      }
      group.append(button);
    });
    return group;
  }

  // The turn as plain text, as shown (for a transcript or "copy answer"):
  // paragraphs, numbered steps, the closing line, "Based on" references, and
  // the buttons offered.
  function answerText(botMessages, options) {
    const labels = Object.assign({}, LABELS, (options && options.labels) || {});
    const lines = [];
    answerParts(botMessages).forEach(function (item) {
      if (item.kind === "question") {
        lines.push(item.text);
        lines.push("[" + item.replies.map(function (reply) { return reply.title; }).join("] [") + "]");
        return;
      }
      const paragraphs = item.paragraphs.slice();
      item.paragraphs.forEach(function (block, index) {
        if (block.steps) {
          block.steps.forEach(function (step, number) { lines.push((number + 1) + ". " + step); });
        } else {
          const closes = index === paragraphs.length - 1 && item.closing.length;
          lines.push(closes ? block.text + " " + item.closing.join(" ") : block.text);
        }
      });
      if (item.closing.length && paragraphs[paragraphs.length - 1].steps) {
        lines.push(item.closing.join(" "));
      }
      if (item.sources.length) {
        lines.push(labels.sources + item.sources.join("; "));
      }
    });
    return lines.join("\n");
  }

  // Builds an element; `text` is set with textContent, never parsed as HTML.
  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  window.HcscChatRender = Object.freeze({
    renderAnswer: renderAnswer,
    answerParts: answerParts,
    answerText: answerText,
    element: element,
    labels: Object.freeze(Object.assign({}, LABELS)),
  });
})();

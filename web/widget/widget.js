/*
 * Member chat widget: massage therapy coverage for Blue Cross and Blue Shield plans.
 *
 * Embed it with one tag; state and plan type are optional (a member portal
 * that knows them passes them, and the member is not asked):
 *
 *   <script src="https://assistant.example/widget/widget.js"
 *           data-server="https://assistant.example:5005"
 *           data-state="TX" data-plan-type="ppo" defer></script>
 *
 * It loads socket.io.min.js and widget.css from its own folder, never from a
 * CDN, and talks to the Rasa server's socketio channel. Every text, the
 * member's or the assistant's, goes into the page with textContent only.
 * The conversation id and the visible conversation stay in sessionStorage
 * (gone when the tab closes), so a page reload continues the conversation.
 */
(function () {
  "use strict";

  const script = document.currentScript;
  if (!script || window.hcscChatWidgetLoaded) {
    return;
  }
  window.hcscChatWidgetLoaded = true;

  const ASSET_BASE = new URL(".", script.src);
  const SERVER_URL = (script.dataset.server || ASSET_BASE.origin).replace(/\/+$/, "");
  const PLAN_CONTEXT = planContextFrom(script.dataset);
  // Written by `make` from rasa_server/limits.py (tools/widget_facts.py).
  const REPLY_TIMEOUT_MS = 15000; // limit: widget_reply_timeout
  const HISTORY_LIMIT = 100;
  const STORAGE_KEYS = {
    sessionId: "hcscChat.sessionId",
    // The server's token for sessionId: without it a reconnect gets a new conversation.
    sessionToken: "hcscChat.sessionToken",
    history: "hcscChat.history",
    open: "hcscChat.open",
  };
  const TEXT = {
    launcher: "Chat with us about massage coverage",
    title: "Massage therapy coverage",
    intro: "I am a virtual assistant, not a person. Ask me if your plan covers massage therapy.",
    close: "Close chat",
    inputLabel: "Your question",
    send: "Send",
    you: "You said: ",
    assistant: "Assistant said: ",
    sources: "Based on: ",
    quickReplies: "Suggested answers",
    // Written by `make` from plan_coverage/rules.yml (tools/widget_facts.py): edit it there.
    idCard: "For help now, call the customer service number on your Blue Cross and Blue Shield ID card.", // phrase: id_card
    offline: "Sorry, I can't reach the assistant right now. I will keep trying to connect.",
    slow: "Sorry, the assistant is taking too long to answer.",
    backOnline: "You are connected again. You can ask your question now.",
    feedbackQuestion: "Was this helpful?",
    feedbackYes: "Yes",
    feedbackNo: "No",
    feedbackReasons: "What was wrong?",
    ratedHelpful: "Yes, this was helpful",
    ratedUnhelpful: "Not helpful: ",
  };
  // Answer feedback: the commands the assistant accepts for each choice
  // (plan_coverage/feedback.py; a test checks they match). No free text.
  const FEEDBACK = {
    helpful: '/inform{"feedback": "helpful"}',
    reasons: [
      { title: "Did not answer my question", payload: '/inform{"feedback": "did_not_answer"}' },
      { title: "Hard to understand", payload: '/inform{"feedback": "hard_to_understand"}' },
      { title: "Not right for my plan", payload: '/inform{"feedback": "wrong_plan"}' },
    ],
  };

  // connecting: first connection not yet made; online: session confirmed;
  // offline: the server could not be reached (socket.io keeps retrying).
  let connection = "connecting";
  let socket = null;
  let socketIoLoading = null;
  let sessionId = storageGet(STORAGE_KEYS.sessionId);
  let sessionToken = storageGet(STORAGE_KEYS.sessionToken);
  let outageNoticeShown = false;
  let replyTimer = null;
  let waitingMessages = [];
  let history = loadHistory();
  let lastBotMessage = null;
  let quickReplyGroup = null;
  // The "Was this helpful?" group under the latest coverage answer, if any.
  let feedbackGroup = null;

  // ---- the page elements ------------------------------------------------

  const root = element("div", { class: "hcsc-chat" });
  const launcher = element("button", {
    type: "button",
    class: "hcsc-chat__launcher",
    "aria-expanded": "false",
    "aria-controls": "hcsc-chat-panel",
  }, TEXT.launcher);
  const panel = element("div", {
    id: "hcsc-chat-panel",
    class: "hcsc-chat__panel",
    role: "dialog",
    "aria-modal": "false",
    "aria-labelledby": "hcsc-chat-title",
    "aria-describedby": "hcsc-chat-intro",
  });
  panel.hidden = true;
  const header = element("div", { class: "hcsc-chat__header" });
  const title = element("h2", { id: "hcsc-chat-title", class: "hcsc-chat__title" }, TEXT.title);
  const closeButton = element("button", {
    type: "button",
    class: "hcsc-chat__close",
    "aria-label": TEXT.close,
  }, "\u00d7");
  const intro = element("p", { id: "hcsc-chat-intro", class: "hcsc-chat__intro" }, TEXT.intro);
  // role=log is a polite live region; the attribute is spelled out for
  // screen readers that do not infer it. tabindex lets keyboard users scroll.
  const log = element("div", {
    class: "hcsc-chat__log",
    role: "log",
    "aria-live": "polite",
    "aria-label": "Conversation",
    tabindex: "0",
  });
  const form = element("form", { class: "hcsc-chat__form" });
  const label = element("label", { for: "hcsc-chat-input", class: "hcsc-chat__label" }, TEXT.inputLabel);
  const input = element("input", {
    id: "hcsc-chat-input",
    class: "hcsc-chat__input",
    type: "text",
    autocomplete: "off",
    maxlength: "500",
  });
  const sendButton = element("button", { type: "submit", class: "hcsc-chat__send" }, TEXT.send);

  header.append(title, closeButton);
  form.append(label, input, sendButton);
  panel.append(header, intro, log, form);
  root.append(launcher, panel);

  const stylesheet = element("link", { rel: "stylesheet", href: new URL("widget.css", ASSET_BASE).href });
  document.head.append(stylesheet);
  document.body.append(root);

  history.forEach(renderMessage);
  showPendingQuickReplies();

  launcher.addEventListener("click", function () {
    if (panel.hidden) {
      openPanel(true);
    } else {
      closePanel();
    }
  });
  closeButton.addEventListener("click", closePanel);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.stopPropagation();
      closePanel();
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value.trim();
    if (text && sendMessage(text, text)) {
      input.value = "";
    }
  });

  // A reload keeps the panel as the member left it, without moving focus.
  if (storageGet(STORAGE_KEYS.open) === "1") {
    openPanel(false);
  }

  // ---- opening and closing ----------------------------------------------

  function openPanel(moveFocus) {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    storageSet(STORAGE_KEYS.open, "1");
    scrollToEnd();
    if (moveFocus) {
      input.focus();
    }
    connect();
  }

  function closePanel() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    storageSet(STORAGE_KEYS.open, "0");
    launcher.focus();
  }

  // ---- talking to the assistant -------------------------------------------

  function connect() {
    if (socket || socketIoLoading) {
      return;
    }
    socketIoLoading = loadSocketIo().then(function (io) {
      // WebSocket first; where a proxy blocks it (common on work networks),
      // HTTP long-polling (the server sends one Access-Control-Allow-Origin).
      socket = io(SERVER_URL, {
        path: "/socket.io",
        transports: ["websocket", "polling"],
        tryAllTransports: true,
        reconnection: true,
        reconnectionDelayMax: 5000,
      });
      socket.on("connect", function () {
        socket.emit("session_request", { session_id: sessionId, session_token: sessionToken });
      });
      socket.on("session_token", onSessionToken);
      socket.on("session_confirm", onSessionConfirmed);
      socket.on("bot_uttered", onBotMessage);
      socket.on("connect_error", onOutage);
      socket.on("disconnect", function (reason) {
        if (reason !== "io client disconnect") {
          onOutage();
        }
      });
    }, function () {
      // The widget's own folder did not answer: try again on the next message.
      socketIoLoading = null;
      onOutage();
    });
  }

  function loadSocketIo() {
    if (typeof window.io === "function") {
      return Promise.resolve(window.io);
    }
    return new Promise(function (resolve, reject) {
      const tag = element("script", { src: new URL("socket.io.min.js", ASSET_BASE).href });
      tag.addEventListener("load", function () {
        if (typeof window.io === "function") {
          resolve(window.io);
        } else {
          reject(new Error("socket.io did not load"));
        }
      });
      tag.addEventListener("error", function () {
        tag.remove();
        reject(new Error("socket.io did not load"));
      });
      document.head.append(tag);
    });
  }

  // The server sends the token for a conversation just before confirming it.
  function onSessionToken(data) {
    if (data && typeof data.session_id === "string" && typeof data.token === "string") {
      sessionToken = data.token;
      storageSet(STORAGE_KEYS.sessionToken, sessionToken);
    }
  }

  function onSessionConfirmed(confirmedId) {
    if (typeof confirmedId !== "string" || !confirmedId) {
      return;
    }
    if (sessionId && confirmedId !== sessionId) {
      // The server started a new conversation: the old one is not shown.
      clearHistory();
    }
    sessionId = confirmedId;
    storageSet(STORAGE_KEYS.sessionId, sessionId);
    connection = "online";
    if (outageNoticeShown) {
      outageNoticeShown = false;
      addNotice(TEXT.backOnline);
    }
    const waiting = waitingMessages;
    waitingMessages = [];
    waiting.forEach(emitMessage);
    if (history.length === 0 && waiting.length === 0) {
      // A new conversation starts with the assistant's welcome and suggestions.
      emitMessage("/greet");
    }
  }

  // Shows the member's text, then sends `message` (a quick reply sends its payload).
  function sendMessage(message, shownText) {
    if (connection === "offline") {
      addNotice(TEXT.offline + " " + TEXT.idCard);
      return false;
    }
    removeQuickReplies();
    addMessage({ who: "user", text: shownText });
    startReplyTimer();
    if (connection === "online" && socket && socket.connected) {
      emitMessage(message);
    } else {
      waitingMessages.push(message);
    }
    return true;
  }

  function emitMessage(message) {
    socket.emit("user_uttered", { message: message, session_id: sessionId, customData: PLAN_CONTEXT });
  }

  function onBotMessage(data) {
    if (!data || typeof data !== "object") {
      return;
    }
    stopReplyTimer();
    if (typeof data.text === "string" && data.text) {
      addMessage({ who: "bot", text: data.text, replies: quickRepliesFrom(data.quick_replies) });
    } else if (data.custom && data.custom.coverage && typeof data.custom.coverage === "object") {
      addSourcesToLastAnswer(data.custom.coverage.citations);
      offerFeedbackOnLastAnswer();
    }
  }

  function onOutage() {
    if (connection === "connecting" || connection === "online") {
      connection = "offline";
    }
    stopReplyTimer();
    waitingMessages = [];
    if (!outageNoticeShown) {
      outageNoticeShown = true;
      addNotice(TEXT.offline + " " + TEXT.idCard);
    }
  }

  function startReplyTimer() {
    stopReplyTimer();
    replyTimer = window.setTimeout(function () {
      replyTimer = null;
      addNotice(TEXT.slow + " " + TEXT.idCard);
    }, REPLY_TIMEOUT_MS);
  }

  function stopReplyTimer() {
    if (replyTimer !== null) {
      window.clearTimeout(replyTimer);
      replyTimer = null;
    }
  }

  // ---- the conversation on screen -----------------------------------------

  function addMessage(message) {
    history.push(message);
    if (history.length > HISTORY_LIMIT) {
      history = history.slice(-HISTORY_LIMIT);
    }
    saveHistory();
    renderMessage(message);
    showPendingQuickReplies();
  }

  function renderMessage(message) {
    const item = element("div", { class: "hcsc-chat__message hcsc-chat__message--" + message.who });
    item.append(
      element("span", { class: "hcsc-chat__visually-hidden" }, message.who === "user" ? TEXT.you : TEXT.assistant),
      element("p", { class: "hcsc-chat__text" }, message.text)
    );
    log.append(item);
    if (message.who === "bot") {
      lastBotMessage = { message: message, item: item };
      if (message.sources && message.sources.length) {
        renderSources(item, message.sources);
      }
      if (message.feedback === "offered") {
        renderFeedback(item);
      }
    }
    scrollToEnd();
  }

  function addSourcesToLastAnswer(citations) {
    const sources = Array.isArray(citations)
      ? citations.filter(function (name) { return typeof name === "string" && name; })
      : [];
    if (!sources.length || !lastBotMessage) {
      return;
    }
    lastBotMessage.message.sources = sources;
    saveHistory();
    renderSources(lastBotMessage.item, sources);
  }

  function renderSources(item, sources) {
    const note = element("p", { class: "hcsc-chat__sources" });
    note.append(element("span", { class: "hcsc-chat__sources-label" }, TEXT.sources), sources.join("; "));
    item.append(note);
    scrollToEnd();
  }

  // Feedback is asked for the latest coverage answer only, so a rating always
  // belongs to the answer the assistant rates it against (its last one).
  function offerFeedbackOnLastAnswer() {
    if (!lastBotMessage) {
      return;
    }
    withdrawFeedback();
    lastBotMessage.message.feedback = "offered";
    saveHistory();
    renderFeedback(lastBotMessage.item);
  }

  function withdrawFeedback() {
    history.forEach(function (message) {
      if (message.feedback === "offered") {
        delete message.feedback;
      }
    });
    if (feedbackGroup) {
      feedbackGroup.remove();
      feedbackGroup = null;
    }
  }

  function renderFeedback(item) {
    if (feedbackGroup) {
      feedbackGroup.remove();
    }
    const group = element("div", {
      class: "hcsc-chat__feedback",
      role: "group",
      "aria-label": TEXT.feedbackQuestion,
    });
    const yes = element("button", { type: "button", class: "hcsc-chat__feedback-button" }, TEXT.feedbackYes);
    const no = element("button", { type: "button", class: "hcsc-chat__feedback-button" }, TEXT.feedbackNo);
    yes.addEventListener("click", function () {
      rate(FEEDBACK.helpful, TEXT.ratedHelpful);
    });
    no.addEventListener("click", function () {
      // The reasons replace the question; focus moves to the first of them.
      group.setAttribute("aria-label", TEXT.feedbackReasons);
      const buttons = FEEDBACK.reasons.map(function (reason) {
        const button = element("button", { type: "button", class: "hcsc-chat__feedback-button" }, reason.title);
        button.addEventListener("click", function () {
          rate(reason.payload, TEXT.ratedUnhelpful + reason.title);
        });
        return button;
      });
      group.replaceChildren(element("p", { class: "hcsc-chat__feedback-question" }, TEXT.feedbackReasons));
      buttons.forEach(function (button) { group.append(button); });
      buttons[0].focus();
    });
    group.append(element("p", { class: "hcsc-chat__feedback-question" }, TEXT.feedbackQuestion), yes, no);
    item.append(group);
    feedbackGroup = group;
  }

  function rate(payload, shownText) {
    if (sendMessage(payload, shownText)) {
      withdrawFeedback();
      saveHistory();
      input.focus();
    }
  }

  function addNotice(text) {
    log.append(element("p", { class: "hcsc-chat__notice" }, text));
    scrollToEnd();
  }

  // Quick replies stay until the member says something: the assistant may send
  // more messages after the one that carries them (the ID-card line does).
  function showPendingQuickReplies() {
    removeQuickReplies();
    let withReplies = null;
    for (let index = history.length - 1; index >= 0 && history[index].who === "bot"; index -= 1) {
      if (history[index].replies && history[index].replies.length) {
        withReplies = history[index];
        break;
      }
    }
    if (!withReplies) {
      return;
    }
    quickReplyGroup = element("div", {
      class: "hcsc-chat__quick-replies",
      role: "group",
      "aria-label": TEXT.quickReplies,
    });
    withReplies.replies.forEach(function (reply) {
      const button = element("button", { type: "button", class: "hcsc-chat__quick-reply" }, reply.title);
      button.addEventListener("click", function () {
        if (sendMessage(reply.payload, reply.title)) {
          input.focus();
        }
      });
      quickReplyGroup.append(button);
    });
    log.append(quickReplyGroup);
    scrollToEnd();
  }

  function removeQuickReplies() {
    if (quickReplyGroup) {
      quickReplyGroup.remove();
      quickReplyGroup = null;
    }
  }

  function clearHistory() {
    history = [];
    saveHistory();
    lastBotMessage = null;
    feedbackGroup = null;
    removeQuickReplies();
    log.replaceChildren();
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  // ---- helpers ----------------------------------------------------------

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

  function quickRepliesFrom(replies) {
    if (!Array.isArray(replies)) {
      return undefined;
    }
    const valid = replies.filter(function (reply) {
      return reply && typeof reply.title === "string" && typeof reply.payload === "string";
    }).map(function (reply) {
      return { title: reply.title, payload: reply.payload };
    });
    return valid.length ? valid : undefined;
  }

  // The portal's plan context, sent with every message. Only short plain
  // values; the assistant ignores any it does not know.
  function planContextFrom(dataset) {
    const context = {};
    if (/^[A-Za-z]{2}$/.test(dataset.state || "")) {
      context.state = dataset.state.toUpperCase();
    }
    if (/^[A-Za-z_]{2,30}$/.test(dataset.planType || "")) {
      context.plan_type = dataset.planType.toLowerCase();
    }
    return context;
  }

  function loadHistory() {
    try {
      const saved = JSON.parse(storageGet(STORAGE_KEYS.history) || "[]");
      if (!Array.isArray(saved)) {
        return [];
      }
      return saved.filter(function (message) {
        return message && (message.who === "user" || message.who === "bot") && typeof message.text === "string";
      }).map(function (message) {
        return {
          who: message.who,
          text: message.text,
          sources: Array.isArray(message.sources)
            ? message.sources.filter(function (name) { return typeof name === "string"; })
            : undefined,
          replies: quickRepliesFrom(message.replies),
          feedback: message.feedback === "offered" ? "offered" : undefined,
        };
      }).slice(-HISTORY_LIMIT);
    } catch (error) {
      return [];
    }
  }

  function saveHistory() {
    storageSet(STORAGE_KEYS.history, JSON.stringify(history));
  }

  // Storage can be switched off in the browser; the widget then still works,
  // it just forgets the conversation on reload.
  function storageGet(key) {
    try {
      return window.sessionStorage.getItem(key);
    } catch (error) {
      return null;
    }
  }

  function storageSet(key, value) {
    try {
      window.sessionStorage.setItem(key, value);
    } catch (error) {
      // Nothing to do: see storageGet.
    }
  }
})();

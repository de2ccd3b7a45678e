/*
 * Member chat widget: massage therapy coverage for Blue Cross and Blue Shield plans.
 *
 * Embed it with one tag; state, plan type and the two links are optional (a
 * member portal that knows the plan passes it, and the member is not asked):
 *
 *   <script src="https://assistant.example/widget/widget.js"
 *           data-server="https://assistant.example:5005"
 *           data-state="TX" data-plan-type="ppo"
 *           data-portal-url="https://members.example/"
 *           data-id-card-help-url="https://members.example/id-card" defer></script>
 *
 * It loads render.js (how an answer looks, shared with the agent console),
 * socket.io.min.js and widget.css from its own folder, never from a CDN, and
 * talks to the Rasa server's socketio channel. Every text, the member's or
 * the assistant's, goes into the page with textContent only. The conversation
 * id, its token and the visible conversation stay in sessionStorage (gone
 * when the tab closes), so a page reload continues the conversation where the
 * member was reading.
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
  const LINKS = linksFrom(script.dataset);
  // Written by `make` from rasa_server/limits.py (tools/widget_facts.py).
  const REPLY_TIMEOUT_MS = 15000; // limit: widget_reply_timeout
  // The assistant sends one turn as several messages in quick succession
  // (answer, references, question, closing line): they are shown together,
  // so the answer appears (and is read out) once.
  const TURN_QUIET_MS = 300;
  const HISTORY_LIMIT = 100;
  // Where the widget takes the whole screen and holds focus: phones, and
  // windows zoomed in far enough that a floating panel would not fit.
  const SMALL_SCREEN = "(max-width: 30rem), (max-height: 32rem)";
  const STORAGE_KEYS = {
    sessionId: "hcscChat.sessionId",
    // The server's token for sessionId: without it a reconnect gets a new conversation.
    sessionToken: "hcscChat.sessionToken",
    history: "hcscChat.history",
    open: "hcscChat.open",
    // Where the member was reading: {entry, offset} or {end: true}.
    position: "hcscChat.position",
    unread: "hcscChat.unread",
    // The language the member chose ("en" or "es").
    language: "hcscChat.language",
  };
  // The widget's own words in each language it speaks, with the same keys
  // (a test checks): English, and US Spanish (formal "usted", plain words)
  // for members in Texas and New Mexico. The assistant's answers come in the
  // language the widget sends with each message.
  const TEXTS = {
    en: {
      launcher: "Chat with us about massage coverage",
      title: "Massage therapy coverage",
      intro: "I am a virtual assistant, not a person. Ask me if your plan covers massage therapy.",
      privacy: "Please don't type personal details such as your member ID.",
      close: "Close chat",
      closeShort: "Close",
      inputLabel: "Your question",
      inputPlaceholder: "Type your question",
      send: "Send",
      conversation: "Conversation",
      you: "You said: ",
      assistant: "Assistant said: ",
      sources: "Based on: ",
      quickReplies: "Suggested answers",
      // Written by `make` from plan_coverage/rules.yml (tools/widget_facts.py): edit it there.
      idCard: "For help now, call the customer service number on your Blue Cross and Blue Shield ID card.", // phrase: id_card (en)
      offline: "Sorry, I can't reach the assistant right now. I will keep trying to connect.",
      slow: "Sorry, the assistant is taking too long to answer.",
      backOnline: "You are connected again. You can ask your question now.",
      typing: "The assistant is typing.",
      notSent: "Not sent.",
      retry: "Try again",
      stillOffline: "Still not connected. Please try again soon.",
      startOver: "Start over",
      startOverQuestion: "Start a new chat? This chat will be cleared.",
      startOverYes: "Yes, start over",
      startOverNo: "Keep this chat",
      download: "Save chat",
      transcriptTitle: "Chat about massage therapy coverage",
      transcriptYou: "You: ",
      transcriptAssistant: "Assistant: ",
      transcriptNotSent: " (not sent)",
      links: "Links",
      portal: "Your member portal",
      idCardHelp: "Find your ID card",
      newTab: " (opens in a new tab)",
      unreadOne: "1 new answer",
      unreadMany: "new answers",
      feedbackQuestion: "Was this helpful?",
      feedbackYes: "Yes",
      feedbackNo: "No",
      feedbackReasons: "What was wrong?",
      // The reasons' titles, in the order of FEEDBACK.reasons (English:
      // plan_coverage/feedback.py's REASONS, a test checks).
      reasonDidNotAnswer: "Did not answer my question",
      reasonHardToUnderstand: "Hard to understand",
      reasonWrongPlan: "Not right for my plan",
      ratedHelpful: "Yes, this was helpful",
      ratedUnhelpful: "Not helpful: ",
      // Said to screen readers after the member switches to this language.
      languageNow: "The chat is now in English.",
    },
    es: {
      launcher: "Chat sobre la cobertura de masajes",
      title: "Cobertura de terapia de masaje",
      intro: "Soy un asistente virtual, no una persona. Pregúnteme si su plan cubre la terapia de masaje.",
      privacy: "Por favor, no escriba datos personales, como su número de miembro.",
      close: "Cerrar el chat",
      closeShort: "Cerrar",
      inputLabel: "Su pregunta",
      inputPlaceholder: "Escriba su pregunta",
      send: "Enviar",
      conversation: "Conversación",
      you: "Usted dijo: ",
      assistant: "El asistente dijo: ",
      sources: "Basado en: ",
      quickReplies: "Respuestas sugeridas",
      // Written by `make` from plan_coverage/rules.yml (tools/widget_facts.py): edit it there.
      idCard: "Para recibir ayuda ahora, llame al número de servicio al cliente que aparece en su tarjeta de identificación de Blue Cross and Blue Shield.", // phrase: id_card (es)
      offline: "Lo siento, no me puedo comunicar con el asistente ahora. Voy a seguir intentando conectarme.",
      slow: "Lo siento, el asistente está tardando demasiado en responder.",
      backOnline: "Ya está conectado otra vez. Ahora puede hacer su pregunta.",
      typing: "El asistente está escribiendo.",
      notSent: "No se envió.",
      retry: "Intentar de nuevo",
      stillOffline: "Todavía no hay conexión. Por favor, vuelva a intentarlo pronto.",
      startOver: "Empezar de nuevo",
      startOverQuestion: "¿Empezar un chat nuevo? Se borrará este chat.",
      startOverYes: "Sí, empezar de nuevo",
      startOverNo: "Seguir con este chat",
      download: "Guardar el chat",
      transcriptTitle: "Chat sobre la cobertura de terapia de masaje",
      transcriptYou: "Usted: ",
      transcriptAssistant: "Asistente: ",
      transcriptNotSent: " (no se envió)",
      links: "Enlaces",
      portal: "Su portal para miembros",
      idCardHelp: "Busque su tarjeta de identificación",
      newTab: " (se abre en una pestaña nueva)",
      unreadOne: "1 respuesta nueva",
      unreadMany: "respuestas nuevas",
      feedbackQuestion: "¿Le fue útil?",
      feedbackYes: "Sí",
      feedbackNo: "No",
      feedbackReasons: "¿Qué estuvo mal?",
      reasonDidNotAnswer: "No respondió a mi pregunta",
      reasonHardToUnderstand: "Difícil de entender",
      reasonWrongPlan: "No corresponde a mi plan",
      ratedHelpful: "Sí, me fue útil",
      ratedUnhelpful: "No fue útil: ",
      languageNow: "El chat ahora está en español.",
    },
  };
  // Each language by its own name: the switch offers the other one so.
  const LANGUAGE_NAMES = { en: "English", es: "Español" };
  // Without a choice or a page in one of TEXTS' languages.
  const DEFAULT_LANGUAGE = "en";
  // Answer feedback: the commands the assistant accepts for each choice
  // (plan_coverage/feedback.py; a test checks they match), each reason with
  // its title's key in TEXTS. No free text.
  const FEEDBACK = {
    helpful: '/inform{"feedback": "helpful"}',
    reasons: [
      { text: "reasonDidNotAnswer", payload: '/inform{"feedback": "did_not_answer"}' },
      { text: "reasonHardToUnderstand", payload: '/inform{"feedback": "hard_to_understand"}' },
      { text: "reasonWrongPlan", payload: '/inform{"feedback": "wrong_plan"}' },
    ],
  };

  // render.js is normally loaded by its own tag before this one; a page that
  // adds only widget.js gets it from the widget's folder.
  if (window.HcscChatRender) {
    start(window.HcscChatRender);
  } else {
    const tag = document.createElement("script");
    tag.src = new URL("render.js", ASSET_BASE).href;
    tag.addEventListener("load", function () {
      if (window.HcscChatRender) {
        start(window.HcscChatRender);
      }
    });
    document.head.append(tag);
  }

  function start(Render) {
    // The renderer's element builder (textContent only, never HTML).
    const element = Render.element;
    if (!document.body) {
      document.addEventListener("DOMContentLoaded", function () { start(Render); }, { once: true });
      return;
    }
    // connecting: first connection not yet made; online: session confirmed;
    // offline: the server could not be reached (socket.io keeps retrying).
    let connection = "connecting";
    let socket = null;
    let socketIoLoading = null;
    let sessionId = storageGet(STORAGE_KEYS.sessionId);
    let sessionToken = storageGet(STORAGE_KEYS.sessionToken);
    let outageNoticeShown = false;
    let replyTimer = null;
    let turnTimer = null;
    let incoming = [];
    // Member messages waiting for the connection: {entry, message}.
    let waitingMessages = [];
    let history = loadHistory();
    let unread = Number(storageGet(STORAGE_KEYS.unread)) || 0;
    let position = loadPosition();
    // The "Was this helpful?" group under the latest coverage answer, if any.
    let feedbackGroup = null;
    let typing = null;
    let lastPointer = "";
    let lastFocusOutside = null;
    const smallScreen = window.matchMedia(SMALL_SCREEN);
    const coarsePointer = window.matchMedia("(pointer: coarse)");
    // The widget's language and its words; the member can switch it.
    let language = startingLanguage();
    let words = TEXTS[language];
    // Elements showing the widget's words, {node, key, attribute}: a switch
    // of language sets each again, so the conversation stays as it is.
    const wordedElements = [];

    // ---- the page elements ----------------------------------------------

    const root = element("div", { class: "hcsc-chat" });
    const launcher = element("button", {
      type: "button",
      class: "hcsc-chat__launcher",
      "aria-expanded": "false",
      "aria-controls": "hcsc-chat-panel",
    });
    const badge = element("span", { class: "hcsc-chat__badge", "aria-hidden": "true" });
    const unreadText = element("span", { class: "hcsc-chat__visually-hidden" });
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
    const title = withWords(element("h2", { id: "hcsc-chat-title", class: "hcsc-chat__title" }), "title");
    // Named in the language it offers (lang set to match), so a member who
    // cannot read the current one still finds it.
    const languageButton = element("button", { type: "button", class: "hcsc-chat__language" });
    const closeButton = withWords(
      element("button", { type: "button", class: "hcsc-chat__close" }), "close", "aria-label"
    );
    closeButton.append(
      element("span", { class: "hcsc-chat__close-icon", "aria-hidden": "true" }, "\u00d7"),
      withWords(element("span", { class: "hcsc-chat__close-text" }), "closeShort")
    );
    const intro = withWords(element("p", { id: "hcsc-chat-intro", class: "hcsc-chat__intro" }), "intro");
    const toolbar = element("div", { class: "hcsc-chat__toolbar" });
    const startOverButton = withWords(element("button", { type: "button", class: "hcsc-chat__tool" }), "startOver");
    const downloadButton = withWords(element("button", { type: "button", class: "hcsc-chat__tool" }), "download");
    toolbar.append(startOverButton, downloadButton);
    const confirmBox = element("div", {
      class: "hcsc-chat__confirm",
      role: "group",
      "aria-labelledby": "hcsc-chat-confirm-question",
    });
    confirmBox.hidden = true;
    const confirmYes = withWords(element("button", { type: "button", class: "hcsc-chat__confirm-yes" }), "startOverYes");
    const confirmNo = withWords(element("button", { type: "button", class: "hcsc-chat__confirm-no" }), "startOverNo");
    confirmBox.append(
      withWords(element("p", { id: "hcsc-chat-confirm-question", class: "hcsc-chat__confirm-question" }), "startOverQuestion"),
      confirmYes,
      confirmNo
    );
    // role=log is a polite live region; the attribute is spelled out for
    // screen readers that do not infer it. tabindex lets keyboard users scroll.
    const log = withWords(
      element("div", { class: "hcsc-chat__log", role: "log", "aria-live": "polite", tabindex: "0" }),
      "conversation",
      "aria-label"
    );
    let welcome = welcomeBlock();
    // Short spoken updates that are not part of the conversation ("typing").
    const status = element("div", { class: "hcsc-chat__visually-hidden", role: "status" });
    const form = element("form", { class: "hcsc-chat__form" });
    const label = withWords(element("label", { for: "hcsc-chat-input", class: "hcsc-chat__label" }), "inputLabel");
    const input = withWords(
      element("input", {
        id: "hcsc-chat-input",
        class: "hcsc-chat__input",
        type: "text",
        autocomplete: "off",
        maxlength: "500",
      }),
      // Where the label is hidden to save room (short windows).
      "inputPlaceholder",
      "placeholder"
    );
    const sendButton = withWords(element("button", { type: "submit", class: "hcsc-chat__send" }), "send");

    header.append(title, languageButton, closeButton);
    form.append(label, input, sendButton);
    panel.append(header, intro, toolbar, confirmBox, log, status, form);
    root.append(launcher, panel);
    labelWidget();

    const stylesheet = element("link", { rel: "stylesheet", href: new URL("widget.css", ASSET_BASE).href });
    document.head.append(stylesheet);
    document.body.append(root);

    renderHistory();
    showUnread();

    launcher.addEventListener("click", function () {
      if (panel.hidden) {
        openPanel(true);
      } else {
        closePanel();
      }
    });
    closeButton.addEventListener("click", closePanel);
    languageButton.addEventListener("click", switchLanguage);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.stopPropagation();
        if (!confirmBox.hidden) {
          hideConfirm();
        } else {
          closePanel();
        }
      } else if (event.key === "Tab" && isModal()) {
        keepFocusInside(event);
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const text = input.value.trim();
      if (text && sendMessage(text, text)) {
        input.value = "";
      }
    });
    startOverButton.addEventListener("click", showConfirm);
    confirmNo.addEventListener("click", hideConfirm);
    confirmYes.addEventListener("click", startOver);
    downloadButton.addEventListener("click", downloadTranscript);
    // Touch or mouse: after a tap, the input is not focused (a phone keyboard
    // would cover the answer).
    root.addEventListener("pointerdown", function (event) {
      lastPointer = event.pointerType || "";
    }, true);
    root.addEventListener("keydown", function () {
      lastPointer = "";
    }, true);
    log.addEventListener("scroll", rememberPosition, { passive: true });
    document.addEventListener("focusin", onPageFocus);
    smallScreen.addEventListener("change", layout);
    window.addEventListener("resize", layout);
    if (window.visualViewport) {
      window.visualViewport.addEventListener("resize", layout);
      window.visualViewport.addEventListener("scroll", layout);
    }
    if (window.ResizeObserver) {
      // A keyboard opening or a rotated phone resizes the log: the member
      // keeps reading the same line.
      new ResizeObserver(restorePosition).observe(log);
    }

    // A reload keeps the panel as the member left it, without moving focus,
    // scrolled to where the member was reading (once the styles give the
    // log its size).
    if (storageGet(STORAGE_KEYS.open) === "1") {
      if (stylesheet.sheet) {
        openPanel(false);
      } else {
        stylesheet.addEventListener("load", function () { openPanel(false); }, { once: true });
        stylesheet.addEventListener("error", function () { openPanel(false); }, { once: true });
      }
    }

    // ---- the widget's language ----------------------------------------------

    // What the member chose last in this tab, else the page's language, else English.
    function startingLanguage() {
      return languageOf(storageGet(STORAGE_KEYS.language))
        || languageOf(document.documentElement.getAttribute("lang"))
        || DEFAULT_LANGUAGE;
    }

    // Marks a node as showing words[key] (as its text, or in `attribute`).
    function withWords(node, key, attribute) {
      wordedElements.push({ node: node, key: key, attribute: attribute });
      return node;
    }

    // Every word of the widget's frame in the current language; lang on the
    // root lets screen readers read them with the right voice.
    function labelWidget() {
      root.setAttribute("lang", language);
      wordedElements.forEach(function (item) {
        if (item.attribute) {
          item.node.setAttribute(item.attribute, words[item.key]);
        } else {
          item.node.textContent = words[item.key];
        }
      });
      labelLauncher();
      const other = otherLanguage();
      languageButton.textContent = LANGUAGE_NAMES[other];
      languageButton.setAttribute("lang", other);
    }

    // On small screens only the first word shows ("Chat"): the full name
    // stays the button's name, and the launcher covers less of the page.
    function labelLauncher() {
      const firstWord = words.launcher.split(" ")[0];
      launcher.replaceChildren(
        element("span", {}, firstWord),
        element("span", { class: "hcsc-chat__launcher-more" }, words.launcher.slice(firstWord.length)),
        badge,
        unreadText
      );
    }

    function otherLanguage() {
      return language === "es" ? "en" : "es";
    }

    // The member's choice: kept for the tab, sent with every later message
    // (the assistant answers in it), and shown at once. Messages already
    // shown keep their own language.
    function switchLanguage() {
      language = otherLanguage();
      words = TEXTS[language];
      storageSet(STORAGE_KEYS.language, language);
      labelWidget();
      const newWelcome = welcomeBlock();
      welcome.replaceWith(newWelcome);
      welcome = newWelcome;
      // Buttons and notes of the widget inside the conversation (feedback, "Try again").
      history.forEach(replaceEntryNode);
      restorePosition();
      showUnread();
      if (typing && typing.parentNode === log) {
        status.textContent = words.typing;
      }
      say(words.languageNow);
    }

    // ---- opening, closing, the screen -------------------------------------

    function openPanel(moveFocus) {
      panel.hidden = false;
      root.classList.add("hcsc-chat--open");
      launcher.setAttribute("aria-expanded", "true");
      storageSet(STORAGE_KEYS.open, "1");
      layout();
      restorePosition();
      unread = 0;
      showUnread();
      if (moveFocus) {
        focusForInput();
      }
      connect();
    }

    function closePanel() {
      hideConfirm();
      panel.hidden = true;
      root.classList.remove("hcsc-chat--open");
      launcher.setAttribute("aria-expanded", "false");
      storageSet(STORAGE_KEYS.open, "0");
      layout();
      launcher.focus();
    }

    // On small screens the panel fills the visual viewport (what is visible
    // above a phone keyboard or inside a pinch zoom) and is a modal dialog.
    function layout() {
      const viewport = window.visualViewport;
      if (viewport) {
        root.style.setProperty("--hcsc-chat-vv-top", viewport.offsetTop + "px");
        root.style.setProperty("--hcsc-chat-vv-left", viewport.offsetLeft + "px");
        root.style.setProperty("--hcsc-chat-vv-width", viewport.width + "px");
        root.style.setProperty("--hcsc-chat-vv-height", viewport.height + "px");
      }
      panel.setAttribute("aria-modal", isModal() ? "true" : "false");
    }

    function isModal() {
      return !panel.hidden && smallScreen.matches;
    }

    function focusables() {
      return Array.prototype.filter.call(
        panel.querySelectorAll("button, input, [tabindex='0'], a[href]"),
        function (node) {
          return !node.disabled && node.getClientRects().length > 0;
        }
      );
    }

    function keepFocusInside(event) {
      const nodes = focusables();
      if (!nodes.length) {
        return;
      }
      const first = nodes[0];
      const last = nodes[nodes.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    }

    // Focus on the host page: never into the page behind a full-screen
    // dialog, and never onto a link hidden behind the floating panel or the
    // launcher (WCAG 2.4.11): the page scrolls it into the clear.
    function onPageFocus(event) {
      const target = event.target;
      if (!(target instanceof Element) || root.contains(target)) {
        return;
      }
      if (isModal()) {
        focusForInput();
        return;
      }
      lastFocusOutside = target;
      window.requestAnimationFrame(function () {
        if (document.activeElement === lastFocusOutside) {
          uncover(target);
        }
      });
    }

    function uncover(target) {
      const box = target.getBoundingClientRect();
      let lift = 0;
      [launcher, panel].forEach(function (part) {
        if (part.hidden || !part.getClientRects().length) {
          return;
        }
        const cover = part.getBoundingClientRect();
        const overlaps = box.left < cover.right && box.right > cover.left && box.top < cover.bottom && box.bottom > cover.top;
        if (overlaps) {
          lift = Math.max(lift, box.bottom - cover.top + 8);
        }
      });
      if (lift > 0) {
        window.scrollBy(0, lift);
      }
    }

    function isTouch() {
      return lastPointer === "touch" || lastPointer === "pen" || (lastPointer === "" && coarsePointer.matches);
    }

    // Where focus goes for the member to go on: the input, except on touch
    // screens, where that would open the keyboard over the answer.
    function focusForInput() {
      if (isTouch()) {
        log.focus({ preventScroll: true });
      } else {
        input.focus();
      }
    }

    // ---- talking to the assistant -----------------------------------------

    function connect() {
      if (socket || socketIoLoading) {
        return;
      }
      socketIoLoading = loadSocketIo().then(function (io) {
        socketIoLoading = null;
        // WebSocket first; where a proxy blocks it (common on work networks),
        // HTTP long-polling (the server sends one Access-Control-Allow-Origin).
        const current = io(SERVER_URL, {
          path: "/socket.io",
          transports: ["websocket", "polling"],
          tryAllTransports: true,
          reconnection: true,
          reconnectionDelayMax: 5000,
          forceNew: true,
        });
        socket = current;
        current.on("connect", function () {
          current.emit("session_request", { session_id: sessionId, session_token: sessionToken });
        });
        current.on("session_token", onSessionToken);
        current.on("session_confirm", onSessionConfirmed);
        current.on("bot_uttered", onBotMessage);
        current.on("connect_error", onOutage);
        current.on("disconnect", function (reason) {
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
        clearConversation();
      }
      sessionId = confirmedId;
      storageSet(STORAGE_KEYS.sessionId, sessionId);
      connection = "online";
      if (outageNoticeShown) {
        outageNoticeShown = false;
        addNotice(words.backOnline);
      }
      const waiting = waitingMessages;
      waitingMessages = [];
      waiting.forEach(function (item) { emitMessage(item.message); });
      if (history.length === 0 && waiting.length === 0) {
        // A new conversation starts with the assistant's welcome and suggestions.
        emitMessage("/greet");
      }
    }

    // Shows the member's text, then sends `message` (a quick reply sends its
    // payload). Without a connection the message is kept with a retry button.
    function sendMessage(message, shownText) {
      removeQuickReplies();
      // In the language the widget shows as the member sends it.
      const entry = { who: "user", text: shownText, lang: language };
      if (connection === "offline") {
        entry.failed = true;
        entry.retry = message;
        addEntry(entry);
        return true;
      }
      addEntry(entry);
      startWaiting();
      if (connection === "online" && socket && socket.connected) {
        emitMessage(message);
      } else {
        waitingMessages.push({ entry: entry, message: message });
      }
      return true;
    }

    function retry(entry) {
      if (connection === "offline") {
        say(words.stillOffline);
        return;
      }
      const message = entry.retry;
      delete entry.failed;
      delete entry.retry;
      saveHistory();
      replaceEntryNode(entry);
      startWaiting();
      if (connection === "online" && socket && socket.connected) {
        emitMessage(message);
      } else {
        waitingMessages.push({ entry: entry, message: message });
      }
      focusForInput();
    }

    function emitMessage(message) {
      // The language with every message, the opening one too: the assistant
      // answers in the language the widget shows.
      const customData = Object.assign({ lang: language }, PLAN_CONTEXT);
      socket.emit("user_uttered", { message: message, session_id: sessionId, customData: customData });
    }

    function onBotMessage(data) {
      // The member's last message as the assistant kept it (personal details
      // replaced): the bubble, the saved history and the transcript show that.
      if (data && data.custom && typeof data.custom.member_text === "string") {
        showMemberTextAsKept(data.custom.member_text);
        return;
      }
      const message = botMessageFrom(data);
      if (!message) {
        return;
      }
      stopReplyTimer();
      incoming.push(message);
      if (turnTimer !== null) {
        window.clearTimeout(turnTimer);
      }
      turnTimer = window.setTimeout(showTurn, TURN_QUIET_MS);
    }

    function onOutage() {
      if (connection === "connecting" || connection === "online") {
        connection = "offline";
      }
      stopWaiting();
      // Messages not yet sent get a retry button.
      const waiting = waitingMessages;
      waitingMessages = [];
      waiting.forEach(function (item) {
        item.entry.failed = true;
        item.entry.retry = item.message;
        replaceEntryNode(item.entry);
      });
      saveHistory();
      if (!outageNoticeShown) {
        outageNoticeShown = true;
        addNotice(words.offline + " " + words.idCard);
      }
    }

    function startWaiting() {
      stopReplyTimer();
      showTyping();
      replyTimer = window.setTimeout(function () {
        replyTimer = null;
        hideTyping();
        addNotice(words.slow + " " + words.idCard);
      }, REPLY_TIMEOUT_MS);
    }

    function stopWaiting() {
      stopReplyTimer();
      hideTyping();
    }

    function stopReplyTimer() {
      if (replyTimer !== null) {
        window.clearTimeout(replyTimer);
        replyTimer = null;
      }
    }

    // The typing dots are for the eyes; screen readers hear the words once.
    function showTyping() {
      if (!typing) {
        typing = element("div", { class: "hcsc-chat__typing", "aria-hidden": "true" });
        typing.append(element("span", {}), element("span", {}), element("span", {}));
      }
      log.append(typing);
      if (status.textContent !== words.typing) {
        status.textContent = words.typing;
      }
      scrollToEnd();
    }

    function hideTyping() {
      if (typing) {
        typing.remove();
      }
      if (status.textContent === words.typing) {
        status.textContent = "";
      }
    }

    function say(text) {
      // Cleared first, so the same words are read again.
      status.textContent = "";
      window.setTimeout(function () { status.textContent = text; }, 50);
    }

    // ---- start over ---------------------------------------------------------

    function showConfirm() {
      confirmBox.hidden = false;
      confirmNo.focus();
    }

    function hideConfirm() {
      if (confirmBox.hidden) {
        return;
      }
      const hadFocus = confirmBox.contains(document.activeElement);
      confirmBox.hidden = true;
      if (hadFocus) {
        startOverButton.focus();
      }
    }

    // A new conversation: a new conversation id from the server (a new socket
    // without the old id and token), so the assistant remembers nothing of
    // the old one; the old one is cleared from the screen and the tab.
    function startOver() {
      confirmBox.hidden = true;
      if (socket) {
        socket.disconnect();
        socket = null;
      }
      sessionId = null;
      sessionToken = null;
      storageRemove(STORAGE_KEYS.sessionId);
      storageRemove(STORAGE_KEYS.sessionToken);
      waitingMessages = [];
      incoming = [];
      if (turnTimer !== null) {
        window.clearTimeout(turnTimer);
        turnTimer = null;
      }
      stopWaiting();
      outageNoticeShown = false;
      connection = "connecting";
      clearConversation();
      focusForInput();
      connect();
    }

    // ---- the conversation on screen -------------------------------------------

    function addEntry(entry) {
      history.push(entry);
      if (!trimHistory()) {
        log.insertBefore(entryNode(entry), typing && typing.parentNode === log ? typing : null);
      }
      saveHistory();
      scrollToEnd();
    }

    // The messages of one turn, shown as one answer: a turn the assistant is
    // still adding to (no member message since) is shown again, whole.
    function showTurn() {
      turnTimer = null;
      const messages = incoming;
      incoming = [];
      hideTyping();
      let entry = history[history.length - 1];
      const more = entry && entry.who === "bot";
      let trimmed = false;
      if (more) {
        entry.messages = entry.messages.concat(messages);
      } else {
        entry = { who: "bot", messages: messages, lang: language };
        history.push(entry);
        trimmed = trimHistory();
      }
      // The assistant answers one turn in one language: the coverage
      // answer's own, else the widget's as the turn arrived.
      entry.lang = answerLanguage(messages) || entry.lang;
      if (Render.answerParts(messages).some(isCoverage)) {
        withdrawFeedback();
        entry.feedback = "offered";
      }
      saveHistory();
      const old = log.querySelector("[data-entry='" + history.indexOf(entry) + "']");
      const node = entryNode(entry);
      if (old && (more || trimmed)) {
        old.replaceWith(node);
      } else {
        log.append(node);
      }
      // The answer is read from its first line.
      scrollToEntry(node);
      if (panel.hidden) {
        unread += 1;
        showUnread();
      }
    }

    function isCoverage(item) {
      return item.kind === "bubble" && item.coverage;
    }

    function renderHistory() {
      log.replaceChildren(welcome);
      feedbackGroup = null;
      history.forEach(function (entry) {
        log.append(entryNode(entry));
      });
    }

    function entryNode(entry) {
      const index = history.indexOf(entry);
      let node;
      if (entry.who === "user") {
        node = element("div", { class: "hcsc-chat__entry hcsc-chat__entry--user" });
        const bubble = element("div", { class: "hcsc-chat__message hcsc-chat__message--user" });
        bubble.setAttribute("lang", entryLanguage(entry));
        bubble.append(
          element("span", { class: "hcsc-chat__visually-hidden" }, TEXTS[entryLanguage(entry)].you),
          element("p", { class: "hcsc-chat__text" }, entry.text)
        );
        node.append(bubble);
        if (entry.failed) {
          const failed = element("p", { class: "hcsc-chat__failed" }, words.notSent + " ");
          const again = element("button", { type: "button", class: "hcsc-chat__retry" }, words.retry);
          again.addEventListener("click", function () { retry(entry); });
          failed.append(again);
          node.append(failed);
        }
      } else {
        const latest = index === history.length - 1;
        // The answer's words for screen readers ("Assistant said") in its own language.
        const answerWords = TEXTS[entryLanguage(entry)];
        node = Render.renderAnswer(null, entry.messages, {
          quickReplies: latest,
          onQuickReply: function (reply) {
            if (sendMessage(reply.payload, reply.title)) {
              focusForInput();
            }
          },
          labels: { assistant: answerWords.assistant, sources: answerWords.sources, quickReplies: answerWords.quickReplies },
          lang: entryLanguage(entry),
        });
        if (entry.feedback === "offered") {
          const answers = node.querySelectorAll("[data-coverage]");
          if (answers.length) {
            renderFeedback(answers[answers.length - 1]);
          }
        }
      }
      node.setAttribute("data-entry", String(index));
      return node;
    }

    // Saved before messages kept their language: the widget's.
    function entryLanguage(entry) {
      return entry.lang || language;
    }

    // The turn and each of its bubbles, so a screen reader reads each one
    // in its own language whatever the widget's is.
    function showMemberTextAsKept(text) {
      for (let index = history.length - 1; index >= 0; index -= 1) {
        const entry = history[index];
        if (entry.who === "user") {
          entry.text = text;
          delete entry.retry;
          saveHistory();
          replaceEntryNode(entry);
          return;
        }
      }
    }

    function replaceEntryNode(entry) {
      const old = log.querySelector("[data-entry='" + history.indexOf(entry) + "']");
      if (old) {
        old.replaceWith(entryNode(entry));
      }
    }

    // Feedback is asked for the latest coverage answer only, so a rating always
    // belongs to the answer the assistant rates it against (its last one).
    function withdrawFeedback() {
      history.forEach(function (entry) {
        if (entry.feedback === "offered") {
          delete entry.feedback;
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
      // The widget's own question, in the widget's language, inside an
      // answer that may be in the other one.
      const group = element("div", {
        class: "hcsc-chat__feedback",
        role: "group",
        "aria-label": words.feedbackQuestion,
        lang: language,
      });
      const yes = element("button", { type: "button", class: "hcsc-chat__feedback-button" }, words.feedbackYes);
      const no = element("button", { type: "button", class: "hcsc-chat__feedback-button" }, words.feedbackNo);
      yes.addEventListener("click", function () {
        rate(FEEDBACK.helpful, words.ratedHelpful);
      });
      no.addEventListener("click", function () {
        // The reasons replace the question; focus moves to the first of them.
        group.setAttribute("aria-label", words.feedbackReasons);
        const buttons = FEEDBACK.reasons.map(function (reason) {
          const title = words[reason.text];
          const button = element("button", { type: "button", class: "hcsc-chat__feedback-button" }, title);
          button.addEventListener("click", function () {
            rate(reason.payload, words.ratedUnhelpful + title);
          });
          return button;
        });
        group.replaceChildren(element("p", { class: "hcsc-chat__feedback-question" }, words.feedbackReasons));
        buttons.forEach(function (button) { group.append(button); });
        buttons[0].focus();
      });
      group.append(element("p", { class: "hcsc-chat__feedback-question" }, words.feedbackQuestion), yes, no);
      item.append(group);
      feedbackGroup = group;
    }

    function rate(payload, shownText) {
      withdrawFeedback();
      saveHistory();
      sendMessage(payload, shownText);
      focusForInput();
    }

    // A notice stays in the language it was given in (lang for screen readers).
    function addNotice(text) {
      log.insertBefore(
        element("p", { class: "hcsc-chat__notice", lang: language }, text),
        typing && typing.parentNode === log ? typing : null
      );
      scrollToEnd();
    }

    // Suggestions belong to the assistant's latest message: they go once the
    // member has said something.
    function removeQuickReplies() {
      log.querySelectorAll(".hcsc-chat__quick-replies").forEach(function (group) {
        group.remove();
      });
    }

    function clearConversation() {
      history = [];
      saveHistory();
      feedbackGroup = null;
      position = { end: true };
      storageRemove(STORAGE_KEYS.position);
      renderHistory();
    }

    // The privacy line and the links the page gives, above the conversation.
    function welcomeBlock() {
      const block = element("div", { class: "hcsc-chat__welcome" });
      block.append(element("p", { class: "hcsc-chat__privacy" }, words.privacy));
      const links = [[LINKS.portal, words.portal], [LINKS.idCardHelp, words.idCardHelp]].filter(function (link) {
        return link[0];
      });
      if (links.length) {
        const list = element("ul", { class: "hcsc-chat__links", "aria-label": words.links });
        links.forEach(function (link) {
          const anchor = element("a", { href: link[0], target: "_blank", rel: "noopener" }, link[1]);
          anchor.append(element("span", { class: "hcsc-chat__visually-hidden" }, words.newTab));
          const item = element("li", {});
          item.append(anchor);
          list.append(item);
        });
        block.append(list);
      }
      return block;
    }

    function showUnread() {
      storageSet(STORAGE_KEYS.unread, String(unread));
      badge.textContent = unread ? String(unread) : "";
      badge.hidden = !unread;
      unreadText.textContent = unread ? "(" + (unread === 1 ? words.unreadOne : unread + " " + words.unreadMany) + ")" : "";
    }

    // ---- scrolling: where the member reads -------------------------------------

    function scrollToEnd() {
      log.scrollTop = log.scrollHeight;
      position = { end: true };
      savePosition();
    }

    function scrollToEntry(node) {
      if (panel.hidden) {
        // Read from its first line when the member opens the chat again.
        position = { entry: Number(node.getAttribute("data-entry")), offset: -8 };
        savePosition();
        return;
      }
      const top = node.getBoundingClientRect().top - log.getBoundingClientRect().top + log.scrollTop;
      log.scrollTop = Math.max(0, top - 8);
      rememberPosition();
    }

    // The first conversation entry in view and how far it is scrolled, or
    // "the end" when the log is scrolled to its bottom.
    function rememberPosition() {
      if (panel.hidden) {
        return;
      }
      if (log.scrollTop + log.clientHeight >= log.scrollHeight - 4) {
        position = { end: true };
      } else {
        const logTop = log.getBoundingClientRect().top;
        const entries = log.querySelectorAll("[data-entry]");
        for (let index = 0; index < entries.length; index += 1) {
          const box = entries[index].getBoundingClientRect();
          if (box.bottom > logTop) {
            position = { entry: Number(entries[index].getAttribute("data-entry")), offset: Math.round(logTop - box.top) };
            break;
          }
        }
      }
      savePosition();
    }

    function restorePosition() {
      if (panel.hidden) {
        return;
      }
      const node = position && !position.end
        ? log.querySelector("[data-entry='" + position.entry + "']")
        : null;
      if (node) {
        const top = node.getBoundingClientRect().top - log.getBoundingClientRect().top + log.scrollTop;
        log.scrollTop = top + position.offset;
      } else {
        log.scrollTop = log.scrollHeight;
      }
    }

    function savePosition() {
      storageSet(STORAGE_KEYS.position, JSON.stringify(position));
    }

    function loadPosition() {
      try {
        const saved = JSON.parse(storageGet(STORAGE_KEYS.position) || "null");
        if (saved && Number.isInteger(saved.entry) && Number.isFinite(saved.offset)) {
          return { entry: saved.entry, offset: saved.offset };
        }
      } catch (error) {
        // A broken value: start at the end.
      }
      return { end: true };
    }

    // ---- the transcript ---------------------------------------------------------

    // What the widget shows, as a text file made in the browser: nothing is
    // sent anywhere.
    function downloadTranscript() {
      const lines = [words.transcriptTitle, new Date().toLocaleString(), ""];
      history.forEach(function (entry) {
        if (entry.who === "user") {
          lines.push(words.transcriptYou + entry.text + (entry.failed ? words.transcriptNotSent : ""));
        } else {
          lines.push(words.transcriptAssistant + Render.answerText(entry.messages, { labels: { sources: words.sources } }));
        }
        lines.push("");
      });
      const file = new Blob([lines.join("\n")], { type: "text/plain;charset=utf-8" });
      const url = URL.createObjectURL(file);
      const link = element("a", { href: url, download: "massage-coverage-chat.txt" });
      link.hidden = true;
      root.append(link);
      link.click();
      link.remove();
      window.setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    }

    // ---- history ------------------------------------------------------------------

    // True when old entries were dropped (and the kept ones shown again,
    // since their numbers changed).
    function trimHistory() {
      if (history.length <= HISTORY_LIMIT) {
        return false;
      }
      history = history.slice(-HISTORY_LIMIT);
      renderHistory();
      return true;
    }

    function loadHistory() {
      try {
        const saved = JSON.parse(storageGet(STORAGE_KEYS.history) || "[]");
        if (!Array.isArray(saved)) {
          return [];
        }
        return saved.map(entryFrom).filter(Boolean).slice(-HISTORY_LIMIT);
      } catch (error) {
        return [];
      }
    }

    function entryFrom(saved) {
      if (!saved || typeof saved !== "object") {
        return null;
      }
      if (saved.who === "user" && typeof saved.text === "string") {
        const entry = { who: "user", text: saved.text };
        if (saved.failed === true && typeof saved.retry === "string") {
          entry.failed = true;
          entry.retry = saved.retry;
        }
        return withSavedLanguage(entry, saved);
      }
      if (saved.who !== "bot") {
        return null;
      }
      let messages;
      if (Array.isArray(saved.messages)) {
        messages = saved.messages.map(botMessageFrom).filter(Boolean);
      } else if (typeof saved.text === "string") {
        // Saved by the widget before answers were kept as turns.
        messages = [botMessageFrom({ text: saved.text, quick_replies: saved.replies })];
        if (Array.isArray(saved.sources) && saved.sources.length) {
          messages.push(botMessageFrom({ custom: { coverage: { citations: saved.sources } } }));
        }
      }
      if (!messages || !messages.length) {
        return null;
      }
      const entry = { who: "bot", messages: messages };
      if (saved.feedback === "offered") {
        entry.feedback = "offered";
      }
      return withSavedLanguage(entry, saved);
    }

    function withSavedLanguage(entry, saved) {
      const lang = languageOf(saved.lang);
      if (lang) {
        entry.lang = lang;
      }
      return entry;
    }

    function saveHistory() {
      storageSet(STORAGE_KEYS.history, JSON.stringify(history));
    }
  }

  // ---- helpers (no state) ---------------------------------------------------

  // Of a bot_uttered payload, what the widget shows and keeps: texts, buttons,
  // the references, structured steps and language of a coverage answer.
  function botMessageFrom(data) {
    if (!data || typeof data !== "object") {
      return null;
    }
    const message = {};
    if (typeof data.text === "string" && data.text) {
      message.text = data.text;
    }
    const replies = quickRepliesFrom(data.quick_replies) || quickRepliesFrom(data.buttons);
    if (message.text && replies) {
      message.quick_replies = replies;
    }
    const custom = data.custom;
    if (custom && typeof custom === "object" && custom.coverage && typeof custom.coverage === "object") {
      message.custom = {
        coverage: {
          citations: Array.isArray(custom.coverage.citations)
            ? custom.coverage.citations.filter(function (name) { return typeof name === "string"; })
            : [],
        },
      };
      const lang = languageOf(custom.coverage.language);
      if (lang) {
        message.custom.coverage.language = lang;
      }
      if (Array.isArray(custom.blocks)) {
        message.custom.blocks = custom.blocks;
      }
    }
    return message.text || message.custom ? message : null;
  }

  // The language the turn's coverage answer says it is in (the last one's), else null.
  function answerLanguage(messages) {
    let found = null;
    messages.forEach(function (message) {
      const coverage = message.custom && message.custom.coverage;
      if (coverage && coverage.language) {
        found = coverage.language;
      }
    });
    return found;
  }

  function quickRepliesFrom(replies) {
    if (!Array.isArray(replies)) {
      return null;
    }
    const valid = replies.filter(function (reply) {
      return reply && typeof reply.title === "string" && typeof reply.payload === "string";
    }).map(function (reply) {
      return { title: reply.title, payload: reply.payload };
    });
    return valid.length ? valid : null;
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

  // One of TEXTS' languages from a language tag ("es", "es-US", "EN"), else null.
  function languageOf(tag) {
    const primary = typeof tag === "string" ? tag.trim().toLowerCase().split(/[-_]/)[0] : "";
    return Object.prototype.hasOwnProperty.call(TEXTS, primary) ? primary : null;
  }

  // Links the page gives: only http(s) addresses (never javascript: or data:).
  function linksFrom(dataset) {
    return { portal: safeUrl(dataset.portalUrl), idCardHelp: safeUrl(dataset.idCardHelpUrl) };
  }

  function safeUrl(value) {
    if (typeof value !== "string" || !value.trim()) {
      return null;
    }
    try {
      const url = new URL(value.trim(), document.baseURI);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (error) {
      return null;
    }
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

  function storageRemove(key) {
    try {
      window.sessionStorage.removeItem(key);
    } catch (error) {
      // Nothing to do: see storageGet.
    }
  }
})();

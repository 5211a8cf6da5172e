// tonewatch review UI: keyboard shortcuts, text selection for missing flags, htmx messages.
// Loaded from /static (the CSP allows no inline script). Message text is never read as HTML:
// the only text this file writes into the page goes through textContent.
(function () {
  "use strict";

  const flags = () => Array.from(document.querySelectorAll("li.flag"));
  let acted = -1; // index of the flag an htmx action was sent for

  function focusFlag(index) {
    const all = flags();
    if (!all.length) return;
    const flag = all[Math.max(0, Math.min(index, all.length - 1))];
    flag.focus();
    flag.scrollIntoView({ block: "nearest" });
  }

  function currentIndex() {
    const active = document.activeElement && document.activeElement.closest("li.flag");
    return active ? flags().indexOf(active) : -1;
  }

  function press(selector) {
    const index = currentIndex();
    const flag = index >= 0 ? flags()[index] : null;
    const button = flag && flag.querySelector(selector);
    if (button && !button.disabled) button.click();
  }

  // Code-point offsets (Python's str indices), not UTF-16 units: [...s].length.
  function selectionIn(container, range) {
    const before = document.createRange();
    before.selectNodeContents(container);
    before.setEnd(range.startContainer, range.startOffset);
    const start = [...before.toString()].length;
    const quote = range.toString();
    return { start: start, end: start + [...quote].length, quote: quote };
  }

  function clearSelectionForms(except) {
    document.querySelectorAll("form.add-flag").forEach(function (form) {
      if (form === except) return;
      form.querySelector("button.add").disabled = true;
      const note = form.querySelector(".selection");
      note.textContent = "Select text above to mark a missing flag";
      note.classList.remove("chosen");
    });
  }

  function onSelection() {
    const selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return;
    const range = selection.getRangeAt(0);
    const node = range.commonAncestorContainer;
    const element = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
    const text = element && element.closest(".turn-text");
    if (!text || !text.closest("article.turn")) return;
    const form = text.closest("article.turn").querySelector("form.add-flag");
    if (!form) return;
    const picked = selectionIn(text, range);
    if (!picked.quote.trim()) return;
    form.elements.start.value = picked.start;
    form.elements.end.value = picked.end;
    form.elements.quote.value = picked.quote;
    const note = form.querySelector(".selection");
    note.textContent = "“" + picked.quote.trim().slice(0, 80) + "”";
    note.classList.add("chosen");
    form.querySelector("button.add").disabled = false;
    clearSelectionForms(form);
  }

  document.addEventListener("mouseup", onSelection);
  document.addEventListener("keyup", function (event) {
    if (event.shiftKey) onSelection();
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest("input, select, textarea, [contenteditable]")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    const index = currentIndex();
    switch (event.key) {
      case "j": focusFlag(index + 1); break;
      case "k": focusFlag(index < 0 ? 0 : index - 1); break;
      case "c": press("button.confirm"); break;
      case "x": press("button.reject"); break;
      case "r": {
        const flag = index >= 0 ? flags()[index] : null;
        const select = flag && flag.querySelector("form.relabel select");
        if (select) select.focus();
        break;
      }
      case "a": {
        const button = document.querySelector("form.add-flag button.add:not([disabled])");
        if (button) button.closest("form").querySelector("select").focus();
        break;
      }
      case "n": {
        const next = document.getElementById("next-conversation");
        if (next) window.location.assign(next.href);
        break;
      }
      case "?": toggleKeys(); break;
      default: return;
    }
    event.preventDefault();
  });

  function toggleKeys() {
    const keys = document.getElementById("keys");
    if (keys) keys.hidden = !keys.hidden;
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("#show-keys")) toggleKeys();
  });

  function flash(message) {
    const bar = document.getElementById("flash");
    if (!bar) return;
    bar.textContent = message;
    bar.hidden = !message;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    const flag = event.target.closest && event.target.closest("li.flag");
    acted = flag ? flags().indexOf(flag) : -1;
    flash("");
  });

  document.addEventListener("htmx:afterSettle", function () {
    const open = document.getElementById("open-count");
    if (open) open.textContent = document.querySelectorAll('li.flag[data-status="open"]').length;
    if (acted < 0) return;
    // After a decision, move on to the next flag still open (else stay where we were).
    const all = flags();
    const next = all.findIndex(function (f, i) { return i > acted && f.dataset.status === "open"; });
    focusFlag(next >= 0 ? next : acted);
    acted = -1;
  });

  document.addEventListener("htmx:responseError", function (event) {
    flash(event.detail.xhr.responseText || "The server refused the request.");
  });
  document.addEventListener("htmx:sendError", function () {
    flash("The server did not answer; check the connection and try again.");
  });
})();

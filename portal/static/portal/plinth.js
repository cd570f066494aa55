// Plinth's only script besides htmx. Kept tiny: pages work without it.

// The CSRF token from the cookie, not from the page: after a login in another tab the
// cookie holds a new token, and a page opened before it would otherwise be refused.
function csrfToken() {
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

document.addEventListener("htmx:configRequest", (event) => {
  const token = csrfToken();
  if (!token) return;
  event.detail.headers["X-CSRFToken"] = token;
  // Django reads the form's field before the header, so the field must carry it too.
  if (event.detail.verb !== "get") event.detail.parameters["csrfmiddlewaretoken"] = token;
});

// Care plans (issue 4): the handout's Print button. Without JS the browser's own Print works.
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-print]")) window.print();
});

// Destructive buttons (issue 17: remove a picture, discard a draft) ask first: a form with
// data-confirm is sent only once the user agrees. Without JS the form is sent as it is.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

// --- Work is never lost (issue 15) -------------------------------------------------------
// When the session has ended, the server answers an HTMX request with HX-Redirect to the
// login page (accounts.middleware.HtmxLoginRedirectMiddleware) and first fires
// "plinth:session-ended" on the element that sent it. What the user had typed on the page
// is then kept in this tab's sessionStorage and put back, with a word about it, when the
// same user is on the same page again after logging in. Nothing is saved on their behalf:
// they check it and save it. A draft is dropped at logout, for another user, and after an hour.

const DRAFT_KEY = "plinth:draft";
const DRAFT_MAX_AGE_MS = 60 * 60 * 1000;
const SKIPPED_TYPES = new Set(["hidden", "password", "file", "submit", "button", "reset", "image"]);

function typedByUser(control) {
  if (control instanceof HTMLSelectElement) {
    return Array.from(control.options).some((option) => option.selected !== option.defaultSelected);
  }
  if (control.type === "checkbox" || control.type === "radio") return control.checked !== control.defaultChecked;
  return control.value !== control.defaultValue;
}

function readDraft() {
  try {
    return JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "null");
  } catch (error) {
    return null;
  }
}

function keepDraft(event) {
  const source = event.target instanceof Element ? event.target : null;
  const fields = [];
  for (const control of document.querySelectorAll("main input, main select, main textarea")) {
    if (!control.id || SKIPPED_TYPES.has(control.type) || !typedByUser(control)) continue;
    fields.push({ id: control.id, value: control.value, checked: control.checked });
  }
  // The write that did not happen: the form (or button) that posted, found again by its id, or
  // by its URL (several forms may post to one URL, as a day's sessions of one exercise do).
  const poster = source ? source.closest("[hx-post]") : null;
  const draft = {
    path: location.pathname,
    user: document.body.dataset.user || "",
    at: Date.now(),
    fields,
    post: poster ? poster.getAttribute("hx-post") : "",
    postId: poster ? poster.id : "",
  };
  try {
    sessionStorage.setItem(DRAFT_KEY, JSON.stringify(draft));
  } catch (error) {
    // Storage full or refused (private mode): the login page still brings them back here.
  }
}

document.addEventListener("plinth:session-ended", keepDraft);

document.addEventListener("submit", (event) => {
  if (event.target instanceof Element && event.target.matches("form.logout")) sessionStorage.removeItem(DRAFT_KEY);
});

function notice(text) {
  const note = document.createElement("p");
  note.className = "message message-warning unsaved-notice";
  note.id = "unsaved-notice-" + Math.random().toString(36).slice(2, 10);
  note.setAttribute("role", "status");
  note.textContent = text;
  return note;
}

function describe(control, note) {
  const ids = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  control.setAttribute("aria-describedby", [note.id, ...ids].join(" "));
}

function restoreDraft() {
  const draft = readDraft();
  if (!draft) return false;
  const user = document.body.dataset.user || "";
  if (!user) {
    // The login page: say that what they typed is waiting for them.
    const form = document.querySelector("main form input[name=next]")?.form;
    if (form && draft.fields.length) {
      form.before(notice("What you typed before you were logged out is kept in this tab. Log in to go back to it."));
    } else if (form && draft.post) {
      form.before(notice("What you were doing when you were logged out was not saved. Log in to go back to it."));
    }
    return false;
  }
  if (user !== draft.user || Date.now() - draft.at > DRAFT_MAX_AGE_MS) {
    sessionStorage.removeItem(DRAFT_KEY);
    return false;
  }
  if (draft.path !== location.pathname) return false;
  sessionStorage.removeItem(DRAFT_KEY);

  const restored = [];
  for (const field of draft.fields) {
    const control = document.getElementById(field.id);
    if (!control || control.disabled || !("value" in control)) continue;
    if (control.type === "checkbox" || control.type === "radio") control.checked = field.checked;
    else control.value = field.value;
    restored.push(control);
  }
  const byId = draft.postId ? document.getElementById(draft.postId) : null;
  const posted = byId && byId.getAttribute("hx-post") === draft.post
    ? byId
    : draft.post
      ? Array.from(document.querySelectorAll("[hx-post]")).find((el) => el.getAttribute("hx-post") === draft.post)
      : null;
  const forms = new Set(restored.map((control) => control.form).filter(Boolean));
  const postedForm = posted ? posted.closest("form") || posted : null;
  if (postedForm) forms.add(postedForm);

  let focus = null;
  for (const form of forms) {
    const inForm = restored.filter((control) => control.form === form);
    if ((form.method || "get").toLowerCase() === "get") {
      // A search or a filter: run it again with what was typed.
      if (inForm.length && typeof form.requestSubmit === "function") form.requestSubmit();
      if (!focus && inForm.length) focus = inForm[0];
      continue;
    }
    const submit = form.querySelector("button[type=submit], button:not([type]), input[type=submit]");
    const text = inForm.length
      ? "Not saved yet: you were logged out before this was saved. What you typed is back; check it and save it."
      : "Not saved: you were logged out before this was done. Please do it again.";
    const note = notice(text);
    form.before(note);
    const target = inForm[0] || submit;
    if (target) describe(target, note);
    if (form === postedForm || !focus) focus = target || focus;
  }
  if (focus) {
    focus.focus();
    return true;
  }
  return false;
}

// --- Focus after a failed submit ----------------------------------------------------------
// Fields drawn by Django carry autofocus on the first error (portal.forms) and the browser
// or htmx focuses them. This covers controls a template draws by hand (the pain scale).
function focusFirstError() {
  if (document.querySelector("[autofocus]")) return;
  const error = document.querySelector("main .error-summary, main .has-error, main .field-error");
  if (!error) return;
  const control = error.matches(".has-error") ? error.querySelector("input:not([type=hidden]), select, textarea") : null;
  if (control) {
    control.focus();
    return;
  }
  if (!error.hasAttribute("tabindex")) error.setAttribute("tabindex", "-1");
  error.focus();
}

// After htmx has processed the page (its own DOMContentLoaded handler runs first), so that a
// search given back is sent by htmx rather than as a page load.
document.addEventListener("DOMContentLoaded", () => {
  if (!restoreDraft()) focusFirstError();
});

// --- The time-zone field's search (issue 15) -------------------------------------------------
// accounts.zones.ZoneSelect draws a grouped <select> and, hidden, a search box: shown here, it
// narrows the list to the zones whose words (city, country, UTC offset or name) contain what
// is typed, keeps the chosen zone in the list whatever is typed, and says how many match.
// Enter chooses the first match. Without JavaScript the grouped select works on its own.
function zonePicker(picker) {
  const select = picker.querySelector("select");
  const search = picker.querySelector("input[type=search]");
  const status = picker.querySelector("[role=status]");
  if (!select || !search) return;
  const groups = Array.from(select.children).map((node) => node.cloneNode(true));
  const words = (option) => `${option.textContent} ${option.value.replaceAll("_", " ")}`.toLowerCase();

  function filter() {
    const query = search.value.trim().toLowerCase();
    const chosen = select.value;
    let count = 0;
    let first = null;
    const kept = [];
    for (const group of groups) {
      const copy = group.cloneNode(false);
      const options = group.tagName === "OPTGROUP" ? Array.from(group.children) : [group];
      for (const option of options) {
        const match = !query || query.split(/\s+/).every((word) => words(option).includes(word));
        if (!match && option.value !== chosen) continue;
        if (match) {
          count += 1;
          first = first || option.value;
        }
        if (group.tagName === "OPTGROUP") copy.appendChild(option.cloneNode(true));
        else kept.push(option.cloneNode(true));
      }
      if (group.tagName === "OPTGROUP" && copy.children.length) kept.push(copy);
    }
    select.replaceChildren(...kept);
    select.value = chosen;
    status.textContent = query ? `${count} time zone${count === 1 ? " matches" : "s match"} “${search.value.trim()}”.` : "";
    return first;
  }

  search.addEventListener("input", filter);
  search.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    // Enter in the search chooses the first match rather than sending the form.
    event.preventDefault();
    const first = filter();
    if (first) {
      select.value = first;
      status.textContent = `Chosen: ${select.selectedOptions[0].textContent}.`;
    }
  });
  picker.querySelector(".zone-search").hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-zone-picker]").forEach(zonePicker);
});

// The operator page talks only to the admin API.
//
// What survives a reload lives in sessionStorage: the admin key (so a reload
// does not sign the operator out), the list filter, and the last approval's
// credential offer and transaction code (the trust anchor keeps only a hash
// of the code, so the page cannot fetch it again). The trade-off:
// sessionStorage is readable by any script running on this origin, so an
// injected script could read the key; the page's Content-Security-Policy
// allows only this file as script, and nothing is written to disk beyond the
// browser's session: sessionStorage belongs to this one tab and is cleared
// when the tab closes (localStorage would keep the key for every tab, across
// restarts). "Sign out" clears it at once.
"use strict";
const ACTIONS = {
  submitted: ["approve", "reject"],
  active: ["suspend", "revoke"],
  suspended: ["reinstate", "revoke"],
};
const KEY = "adminKey";
const FILTER = "filter";
const NOTICE = "lastApproval";
const $ = (id) => document.getElementById(id);

function key() { return sessionStorage.getItem(KEY) || ""; }

class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Authorization": "Bearer " + key(), "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) {
    throw new ApiError(data.detail || data.title || response.statusText, response.status);
  }
  return data;
}

function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }

let nextAfter = null;

async function load(more = false) {
  $("error").textContent = "";
  const state = $("filter").value;
  const query = new URLSearchParams();
  if (state) { query.set("state", state); }
  if (more && nextAfter) { query.set("after", nextAfter); }
  const data = await call("GET", "/admin/applications?" + query.toString());
  const rows = $("rows");
  if (!more) { rows.replaceChildren(); }
  nextAfter = data.next_after;
  $("more").hidden = !nextAfter;
  for (const app of data.items) {
    const tr = document.createElement("tr");
    tr.dataset.id = app.id;
    tr.append(cell(app.legal_name), cell(app.organisation_number), cell(app.did),
              cell(app.roles.join(", ")));
    const st = cell(app.status);
    st.className = "state " + app.status;
    tr.append(st);
    const actions = document.createElement("td");
    for (const action of ACTIONS[app.status] || []) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = action;
      button.dataset.action = action;
      button.addEventListener("click", () => act(app, action));
      actions.append(button);
    }
    tr.append(actions);
    rows.append(tr);
  }
}

function showNotice(approval) {
  if (!approval) { $("notice").hidden = true; return; }
  $("notice-text").textContent =
    `Approved ${approval.legal_name}.\nCredential offer: ${approval.offer_uri}\n` +
    (approval.tx_code ? `Transaction code (give it to the participant): ${approval.tx_code}` : "");
  $("notice").hidden = false;
}

function storedNotice() {
  try { return JSON.parse(sessionStorage.getItem(NOTICE) || "null"); } catch { return null; }
}

// Rejecting, suspending and revoking need a reason (the participant is told it and
// the audit trail keeps it): the field is required and the page says so before it
// calls the API. Approving and reinstating take a reason when one is given.
const REASON_REQUIRED = new Set(["reject", "suspend", "revoke"]);
let pending = null;  // the {app, action} the reason form is open for

function act(app, action) {
  pending = { app, action };
  const required = REASON_REQUIRED.has(action);
  $("error").textContent = "";
  $("reason-label").textContent = `Reason to ${action} ${app.legal_name}:`;
  $("reason").value = "";
  $("reason").required = required;
  $("reason").setCustomValidity("");
  $("decide").classList.remove("missing");
  $("reason-hint").textContent = required
    ? "Required: the participant is told the reason, and the audit trail keeps it."
    : "Optional: kept in the audit trail.";
  $("confirm").textContent = action.charAt(0).toUpperCase() + action.slice(1);
  $("decide").hidden = false;
  $("reason").focus();
}

function closeDecision() {
  pending = null;
  $("decide").hidden = true;
}

function reasonMissing() {
  const message =
    `Give a reason to ${pending.action} ${pending.app.legal_name}: the participant is told why.`;
  $("reason").setCustomValidity(message);
  $("reason-hint").textContent = message;
  $("decide").classList.add("missing");
}

async function decide() {
  const reason = $("reason").value.trim();
  if ($("reason").required && !reason) {
    reasonMissing();
    $("reason").reportValidity();
    return;
  }
  const { app, action } = pending;
  try {
    const result = await call("POST", `/admin/applications/${app.id}/${action}`,
                              reason ? { reason } : {});
    closeDecision();
    if (action === "approve") {
      const approval = { legal_name: app.legal_name, application_id: app.id,
                         offer_uri: result.credential_offer_uri, tx_code: result.tx_code };
      sessionStorage.setItem(NOTICE, JSON.stringify(approval));
      showNotice(approval);
    }
    await load();
  } catch (err) {
    $("error").textContent = err.message;
  }
}

function signedIn(yes) {
  $("login").hidden = yes;
  $("panel").hidden = !yes;
  showNotice(yes ? storedNotice() : null);
}

function signOut() {
  closeDecision();
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(NOTICE);
  $("rows").replaceChildren();
  $("key").value = "";
  signedIn(false);
}

async function signIn() {
  try {
    await load();
    signedIn(true);
  } catch (err) {
    if (err.status === 401) { sessionStorage.removeItem(KEY); }
    signedIn(false);
    $("error").textContent = err.message;
  }
}

const shown = (promise) => promise.catch((e) => { $("error").textContent = e.message; });

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("key").value);
  signIn();
});
$("logout").addEventListener("click", signOut);
$("dismiss").addEventListener("click", () => {
  sessionStorage.removeItem(NOTICE);
  showNotice(null);
});
$("filter").addEventListener("change", () => {
  sessionStorage.setItem(FILTER, $("filter").value);
  shown(load());
});
$("refresh").addEventListener("click", () => shown(load()));
$("decide").addEventListener("submit", (event) => {
  event.preventDefault();
  if (pending) { decide(); }
});
$("cancel").addEventListener("click", closeDecision);
$("reason").addEventListener("input", () => {
  $("reason").setCustomValidity("");
  $("decide").classList.remove("missing");
});
// An empty required field stops the form before "submit": say why, in our words.
$("reason").addEventListener("invalid", () => { if (pending) { reasonMissing(); } });
$("more").addEventListener("click", () => shown(load(true)));

// After a reload: the same filter, and signed in again if this tab has the key.
const filter = sessionStorage.getItem(FILTER);
if (filter !== null && [...$("filter").options].some((o) => o.value === filter)) {
  $("filter").value = filter;
}
if (key()) {
  $("login").hidden = true;  // no flash of the sign-in form while the list loads
  signIn();
}

// The operator page talks only to the admin API, with the key kept in this tab.
"use strict";
const ACTIONS = {
  submitted: ["approve", "reject"],
  active: ["suspend", "revoke"],
  suspended: ["reinstate", "revoke"],
};
const $ = (id) => document.getElementById(id);

function key() { return sessionStorage.getItem("adminKey") || ""; }

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Authorization": "Bearer " + key(), "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) { throw new Error(data.detail || data.title || response.statusText); }
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

async function act(app, action) {
  const reason = window.prompt(`Reason to ${action} ${app.legal_name}:`, "");
  if (reason === null) { return; }
  try {
    const result = await call("POST", `/admin/applications/${app.id}/${action}`, { reason });
    if (action === "approve") {
      const notice = $("notice");
      notice.style.display = "block";
      notice.textContent = `Approved ${app.legal_name}.\nCredential offer: ${result.credential_offer_uri}\n` +
        (result.tx_code ? `Transaction code (give it to the participant): ${result.tx_code}` : "");
    }
    await load();
  } catch (err) {
    $("error").textContent = err.message;
  }
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem("adminKey", $("key").value);
  try {
    await load();
    $("login").hidden = true;
    $("panel").hidden = false;
  } catch (err) {
    $("error").textContent = err.message;
  }
});
$("filter").addEventListener("change", () => load().catch((e) => { $("error").textContent = e.message; }));
$("refresh").addEventListener("click", () => load().catch((e) => { $("error").textContent = e.message; }));
$("more").addEventListener("click", () => load(true).catch((e) => { $("error").textContent = e.message; }));

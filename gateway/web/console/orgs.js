// 组织架构: the caller's subtree (GET /v1/orgs/{id}/subtree, paged), a child created under any node of it
// (POST /v1/orgs), a node renamed (PATCH), moved (POST :move) or dissolved (DELETE). Every refusal is the API's,
// shown in Chinese; an organisation outside the caller's subtree, opened by URL, shows only 无权访问或不存在.
import { FIELD_LABELS, KIND_LABELS, boot, call, el, isDenied, say, showDenied, table } from "/console/shell.js";
import {
  CATEGORY_LABELS, fetchJson, orgOptions, pager, pathText, refusalText, scopeRoots, wholeSubtree,
} from "/console/people.js";

const PAGE_SIZE = 100;
const main = document.getElementById("main");
const status = document.getElementById("org-status");
const rootSelect = document.getElementById("tree-root");
const createForm = document.getElementById("create-form");
const editSection = document.getElementById("edit-section");
const renameForm = document.getElementById("rename-form");
const moveForm = document.getElementById("move-form");
const dissolveButton = document.getElementById("dissolve-button");
let rootId = "";
let editing = null;          // the organisation the 调整 form acts on
let treePager = null;

function orgRow(org, rootLevel) {
  const depth = Math.max(0, org.level - rootLevel);
  const name = `${"　".repeat(depth)}${depth ? "└ " : ""}${org.name}`;
  return [
    el("span", { class: "org-name", dataset: { orgId: org.id } }, name),
    KIND_LABELS[org.kind] || org.kind,
    [FIELD_LABELS[org.field], CATEGORY_LABELS[org.category]].filter(Boolean).join(" · "),
    String(org.level),
    el("button", { type: "button", class: "btn btn-small edit-org", dataset: { org: org.id },
      onclick: () => openEditor(org) }, "调整"),
  ];
}

async function showPage(token) {
  const answer = await fetchJson(`/v1/orgs/${encodeURIComponent(rootId)}/subtree`,
    { page_size: PAGE_SIZE, page_token: token });
  const orgs = answer.orgs || [];
  const rootLevel = orgs.length ? Math.min(...orgs.map((org) => org.level)) : 0;
  const view = table(["组织名称", "类型", "领域/类别", "层级", "操作"], orgs.map((org) => orgRow(org, rootLevel)),
    { id: "org-table" });
  view.querySelectorAll("tbody tr").forEach((row, index) => { row.dataset.orgId = orgs[index].id; });
  document.getElementById("org-tree").replaceChildren(view);
  return answer;
}

async function fillPickers() {
  const orgs = await wholeSubtree(rootId);
  const parents = orgs.filter((org) => org.kind !== "group");
  const keep = createForm.parent_id.value;
  createForm.parent_id.replaceChildren(...orgOptions(parents));
  if (keep && parents.some((org) => org.id === keep)) createForm.parent_id.value = keep;
  moveForm.new_parent_id.replaceChildren(...orgOptions(parents));
}

async function load({ keepStatus = false } = {}) {
  if (!keepStatus) say(status, "");
  try {
    const first = await treePager.first();
    const root = (first.orgs || [])[0];
    document.getElementById("tree-title").textContent = root ? `组织树：${pathText(root)}` : "组织树";
    await fillPickers();
  } catch (error) {
    if (isDenied(error)) showDenied(main, error);
    else say(status, refusalText(error), "error");
  }
}

function openEditor(org) {
  editing = org;
  editSection.hidden = false;
  document.getElementById("edit-title").textContent = `调整组织：${pathText(org)}`;
  renameForm.name.value = org.name;
  if (org.parent_id) moveForm.new_parent_id.value = org.parent_id;
  dissolveButton.textContent = "撤销该组织";
  dissolveButton.dataset.confirm = "";
  editSection.scrollIntoView({ block: "nearest" });
}

async function act(button, work, done) {
  button.disabled = true;
  try {
    await work();
    say(status, done, "ok");
    await load({ keepStatus: true });
    return true;
  } catch (error) {
    say(status, refusalText(error), "error");
    return false;
  } finally {
    button.disabled = false;
  }
}

createForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { parent_id: createForm.parent_id.value, name: createForm.name.value.trim(),
    kind: createForm.kind.value };
  if (createForm.category.value) body.category = createForm.category.value;
  if (createForm.field.value) body.field = createForm.field.value;
  let created = null;
  const ok = await act(document.getElementById("create-submit"),
    async () => { created = await call("POST", "/v1/orgs", body); }, `已新建：${body.name}`);
  if (ok && created) {
    say(status, `已新建：${pathText(created)}（${KIND_LABELS[created.kind] || created.kind}）`, "ok");
    createForm.name.value = "";
  }
});

renameForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = renameForm.name.value.trim();
  const ok = await act(document.getElementById("rename-submit"),
    () => call("PATCH", `/v1/orgs/${encodeURIComponent(editing.id)}`, { name }), `已将“${editing.name}”更名为“${name}”`);
  if (ok) editSection.hidden = true;
});

moveForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const target = moveForm.new_parent_id.selectedOptions[0]?.textContent || "";
  const ok = await act(document.getElementById("move-submit"),
    () => call("POST", `/v1/orgs/${encodeURIComponent(editing.id)}:move`, { new_parent_id: moveForm.new_parent_id.value }),
    `已将“${editing.name}”移动到“${target}”下`);
  if (ok) editSection.hidden = true;
});

dissolveButton.addEventListener("click", async () => {
  if (!dissolveButton.dataset.confirm) {        // a second click confirms: dissolving cannot be undone
    dissolveButton.dataset.confirm = "1";
    dissolveButton.textContent = `确认撤销“${editing.name}”`;
    return;
  }
  const ok = await act(dissolveButton, () => call("DELETE", `/v1/orgs/${encodeURIComponent(editing.id)}`),
    `已撤销：${editing.name}`);
  dissolveButton.dataset.confirm = "";
  dissolveButton.textContent = "撤销该组织";
  if (ok) editSection.hidden = true;
});

document.getElementById("edit-close").addEventListener("click", () => { editSection.hidden = true; });

const { roles } = await boot("orgs");
const roots = scopeRoots(roles, { secretaries: false });
const asked = new URLSearchParams(location.search).get("org") || "";
rootId = asked || roots[0]?.id || "";
rootSelect.replaceChildren(...orgOptions(roots));
if (asked && !roots.some((org) => org.id === asked)) rootSelect.append(el("option", { value: asked }, "（链接中的组织）"));
rootSelect.value = rootId;
const fieldSelect = createForm.field;
fieldSelect.append(...Object.entries(FIELD_LABELS).map(([value, label]) => el("option", { value }, label)));
treePager = pager(document.getElementById("tree-pager"), showPage);
document.getElementById("tree-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  rootId = rootSelect.value;
  history.replaceState(null, "", `?org=${encodeURIComponent(rootId)}`);
  editSection.hidden = true;
  load();
});
await load();

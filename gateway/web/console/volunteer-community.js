// 社区点单设置: a community's volunteer profile (GET/PUT /v1/orgs/{org}/volunteer-profile): open for citizens'
// orders or not, the address and position (typed, or the browser's own position), the categories it serves (from
// the tenant's settings).
import { boot, call, el, errorText, isDenied, say, showDenied } from "/console/shell.js";
import { categories, keepInAddress, orgChoices } from "/console/volunteer-common.js";

const main = document.getElementById("main");
const filters = document.getElementById("community-filters");
const form = document.getElementById("profile-form");
const status = document.getElementById("status");

function codesOf(profile) {
  return new Set((profile.categories || []).map((cat) => (typeof cat === "string" ? cat : cat.code)));
}

async function load(all) {
  const org = filters.org.value;
  keepInAddress({ org });
  form.hidden = true;
  say(status, "正在载入…");
  let profile;
  try {
    profile = await call("GET", `/v1/orgs/${encodeURIComponent(org)}/volunteer-profile`);
  } catch (error) {
    if (isDenied(error)) return showDenied(main, error);
    return say(status, errorText(error), "error");
  }
  // a node never set up answers an empty profile (no updated_at): every category is offered by default
  const fresh = !profile.updated_at;
  say(status, fresh ? "该组织尚未设置点单资料，填写后保存即可开放点单。" : "", "info");
  const chosen = codesOf(profile);
  form.elements.open.checked = Boolean(profile.open);
  form.elements.address.value = profile.address || "";
  form.elements.lat.value = fresh ? "" : profile.lat ?? "";
  form.elements.lng.value = fresh ? "" : profile.lng ?? "";
  document.getElementById("profile-title").textContent = `${profile.name || filters.org.selectedOptions[0]?.textContent.trim() || ""} 的点单资料`;
  document.getElementById("profile-categories").replaceChildren(el("legend", {}, "可提供的服务类别"),
    ...all.map((cat) => el("label", { class: "option" },
      el("input", { type: "checkbox", name: "categories", value: cat.code, checked: fresh || chosen.has(cat.code) }), cat.label)));
  document.getElementById("public-link").textContent =
    `群众点单页面：${location.origin}/v/?tenant=（本单位代码）&community=${org}`;
  form.hidden = false;
}

async function save(event) {
  event.preventDefault();
  const org = filters.org.value;
  const values = new FormData(form);
  const body = {
    address: String(values.get("address") || "").trim(), lat: Number(values.get("lat")), lng: Number(values.get("lng")),
    open: form.elements.open.checked, categories: values.getAll("categories"),
  };
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await call("PUT", `/v1/orgs/${encodeURIComponent(org)}/volunteer-profile`, body);
    say(status, body.open ? "已保存，本社区已开放群众点单" : "已保存，本社区暂不接受群众点单", "ok");
  } catch (error) {
    say(status, errorText(error), "error");
  } finally {
    button.disabled = false;
  }
}

function locate() {
  if (!navigator.geolocation) return say(status, "浏览器无法提供位置，请手动填写经纬度", "warn");
  say(status, "正在获取当前位置…");
  navigator.geolocation.getCurrentPosition((position) => {
    form.elements.lat.value = position.coords.latitude.toFixed(6);
    form.elements.lng.value = position.coords.longitude.toFixed(6);
    say(status, `已填入当前位置（误差约 ${Math.round(position.coords.accuracy)} 米），保存后生效`, "ok");
  }, () => say(status, "无法获取当前位置，请手动填写经纬度", "warn"), { enableHighAccuracy: true, timeout: 20000 });
}

const { roles } = await boot("volunteer-community");
const all = await categories();
await orgChoices(filters.org, roles, new URLSearchParams(location.search).get("org") || "", { communitiesFirst: true });
filters.addEventListener("submit", (event) => {
  event.preventDefault();
  load(all);
});
form.addEventListener("submit", save);
document.getElementById("profile-locate").addEventListener("click", locate);
load(all);

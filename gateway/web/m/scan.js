// /m/scan#<token>: what a printed or projected QR code opens. Reads the signed token from the fragment (never sent
// to the server in the URL), logs the member in if needed, takes a high-accuracy position and sends the scan.
import { api, login, me, ApiError } from "/web/common/api.js";
import { h, mount, notice, loginForm, formatTime, isoNow } from "/web/common/ui.js";
import { keepPosition, positionHistory } from "/m/positions.js";

const TOKEN_KEY = "pb_scan_token";          // sessionStorage: survives a reload of this tab, not the tab
const DEVICE_KEY = "pb_device_id";          // localStorage: a random id of this phone (not a secret)
const MAX_ACCURACY_M = 100;                 // the attendance service's gate (services/attendance/domain/scans.py)
const app = document.getElementById("app");

function takeToken() {
  const fromHash = decodeURIComponent(location.hash.replace(/^#/, ""));
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, "", location.pathname + location.search);   // out of the address bar and history
  }
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

function deviceId() {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(12));
    id = "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

function verdict(kind, icon, title, ...lines) {
  return h("section", { class: `verdict verdict-${kind}`, id: "verdict", role: kind === "ok" ? "status" : "alert" },
    h("div", { class: "verdict-icon", "aria-hidden": "true" }, icon),
    h("strong", { class: "verdict-title" }, title),
    ...lines.map((line) => (line instanceof Node ? line : h("p", {}, line))));
}

const retryButton = (label = "重新定位并签到") =>
  h("button", { class: "btn btn-primary btn-block", id: "retry", type: "button", onclick: () => start() }, label);
const homeLink = () => h("p", { class: "center" }, h("a", { href: "/m/" }, "返回我的主页"));

function showNoToken() {
  mount(app, verdict("warn", "！", "没有可用的签到二维码"),
    h("div", { class: "card" },
      h("p", {}, "请用手机相机或微信“扫一扫”扫描活动现场张贴或投屏的签到二维码。"),
      h("p", { class: "muted" }, "二维码只在扫描时使用一次，刷新本页不会丢失；关闭页面后需重新扫码。")),
    homeLink());
}

function showLogin() {
  mount(app,
    h("div", { class: "notice notice-info" }, "请先登录，登录后将自动继续签到。"),
    loginForm(async ({ tenant_code, username, password }) => {
      await login(tenant_code, username, password);
      start();
    }, { title: "党员登录" }));
}

function locate() {
  return new Promise((resolve, reject) => {
    navigator.geolocation.getCurrentPosition(resolve, reject,
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
  });
}

function showLocationDenied() {
  mount(app, verdict("error", "📍", "无法获取您的位置", "签到需要确认您在活动地点附近，请允许本页使用位置信息："),
    h("div", { class: "card", id: "help" },
      h("h3", {}, "如何开启定位权限"),
      h("ol", { class: "steps" },
        h("li", {}, "打开手机的“定位服务 / GPS”开关。"),
        h("li", {}, "微信中：点右上角“…”，选择“在浏览器打开”后重新扫码；或在手机“设置 → 应用 → 微信 → 权限”中允许“位置信息”。"),
        h("li", {}, "浏览器中：点地址栏旁的锁形图标，把“位置”改为“允许”；苹果手机在“设置 → 隐私 → 定位服务”中允许 Safari 或微信使用定位。"),
        h("li", {}, "设置好后点下面的按钮重试。"))),
    retryButton("已开启，重新定位"), homeLink());
}

function showCoarse(accuracy) {
  mount(app, verdict("warn", "📡", "定位精度不足",
    accuracy ? `当前定位误差约 ${Math.round(accuracy)} 米，签到要求误差不超过 ${MAX_ACCURACY_M} 米。` : ""),
    h("div", { class: "card", id: "help" },
      h("ol", { class: "steps" },
        h("li", {}, "请走到室外或窗边等开阔处，远离高楼遮挡。"),
        h("li", {}, "确认手机已开启 GPS / 精确定位（不要只用“大致位置”）。"),
        h("li", {}, "稍等几秒后点下面的按钮重新定位。"))),
    retryButton(), homeLink());
}

function showUnavailable(text) {
  mount(app, verdict("error", "📍", "定位失败", text), retryButton(), homeLink());
}

function showSuccess(result) {
  const record = result.record;
  const signIn = record.direction === "in";
  const word = signIn ? "签到" : "签退";
  const time = formatTime(record.at, { seconds: true });
  const lines = result.repeat
    ? [`您已于 ${time} ${word}，本次为重复扫码，以首次记录为准。`]
    : [`${word}时间：${time}`];
  lines.push(`距活动地点约 ${Math.round(record.distance_m)} 米`);
  if (signIn && !result.repeat) lines.push("活动结束后请再次扫码签退。");
  mount(app, verdict("ok", "✓", result.repeat ? `已${word}` : `${word}成功`, ...lines), homeLink());
  sessionStorage.removeItem(TOKEN_KEY);
}

function fenceText(error) {
  const detail = error.details.find((d) => d && d.distance_m !== undefined) || {};
  if (detail.radius_m !== undefined && detail.distance_m !== undefined) {
    return `超出${detail.radius_m}米签到范围（距离约 ${Math.round(detail.distance_m)} 米）`;
  }
  return error.serverMessage || "超出签到范围";
}

function showRefusal(error) {
  if (error.code === "ACCURACY_TOO_POOR") return showCoarse(0);
  if (error.code === "OUTSIDE_FENCE") {
    return mount(app, verdict("error", "✗", fenceText(error), "请到活动地点附近后重新定位签到。"),
      retryButton(), homeLink());
  }
  if (error.field === "token") {            // the QR code itself: forged, expired (a rotating code moved on)
    sessionStorage.removeItem(TOKEN_KEY);
    return mount(app, verdict("error", "✗", error.serverMessage || error.message), homeLink());
  }
  // nothing was recorded: the member may scan again (overload, a service or the broker away)
  const again = ["FIX_TIME_INVALID", "NETWORK", "UPSTREAM_TIMEOUT", "SERVICE_UNAVAILABLE", "INTERNAL", "QUEUE_FULL",
    "SERVICE_BUSY", "PEER_BUSY", "PEER_TIMEOUT", "PEER_UNAVAILABLE", "BROKER_UNAVAILABLE", "STORE_UNAVAILABLE",
  ].includes(error.code);
  mount(app, verdict("error", "✗", error.message), again ? retryButton("重试") : null, homeLink());
}

async function start() {
  const token = takeToken();
  if (!token) return showNoToken();
  mount(app, h("p", { class: "muted" }, "正在确认登录状态…"));
  let who;
  try {
    who = await me();
  } catch (e) {
    return showUnavailable(e.message);
  }
  if (!who) return showLogin();
  if (!window.isSecureContext || !navigator.geolocation) {
    return showUnavailable("当前页面无法使用定位：请通过 https 地址打开（扫描现场二维码即可）。");
  }
  mount(app, h("div", { class: "notice notice-info", id: "locating" }, "正在获取您的精确位置，请稍候…"));
  let position;
  try {
    position = await locate();
  } catch (e) {
    if (e.code === 1) return showLocationDenied();
    if (e.code === 3) return showUnavailable("定位超时：请到开阔处、确认已开启 GPS 后重试。");
    return showUnavailable("无法获取位置：请确认手机已开启定位服务（GPS）后重试。");
  }
  const { latitude, longitude, accuracy } = position.coords;
  if (!(accuracy <= MAX_ACCURACY_M)) return showCoarse(accuracy);
  mount(app, h("div", { class: "notice notice-info" }, "正在提交签到…"));
  const takenAt = isoNow();
  const history = positionHistory();        // earlier positions of the day, before this one joins them
  keepPosition(position.coords, takenAt);
  try {
    const result = await api("POST", "/v1/scans", {
      token,
      fix: { lat: latitude, lng: longitude, accuracy_m: accuracy, device_id: deviceId(), taken_at: takenAt,
             mock_location: false, history },
    });
    showSuccess(result);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 401) return showLogin();
    showRefusal(e);
  }
}

// a second code scanned while this page is open changes only the fragment: no new page load
window.addEventListener("hashchange", () => { if (location.hash.length > 1) start(); });
start();

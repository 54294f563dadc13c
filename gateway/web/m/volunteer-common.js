// What the members' volunteer pages share: the login state and tab header, the phone's position for check-in and
// check-out (as the themed-day scan page takes it), the refusals of a check-in in plain Chinese, the labels.
import { h, notice } from "/web/common/ui.js";
import { session, tenantCode, rememberTenant } from "/m/session.js";

export { tenantCode, rememberTenant };
export const MAX_ACCURACY_M = 100;           // a coarser fix is not sent (the service refuses it too)

export const CLAIM_LABELS = { claimed: "已接单，待签到", checked_in: "服务中，待签退", checked_out: "已签退",
  withdrawn: "已撤回", released: "超时未签到，已释放" };
export const CLAIM_KINDS = { claimed: "info", checked_in: "warn", checked_out: "ok", withdrawn: "", released: "err" };
export const SIGNUP_LABELS = { signed_up: "已报名", checked_in: "已签到，待签退", checked_out: "已签退", cancelled: "已取消" };

export const badge = (text, kind = "") => h("span", { class: `badge ${kind ? "badge-" + kind : ""}` }, text);
// hours to the hundredth, as the ledger keeps them (a short service is a few hundredths)
export const hoursText = (hours) => `${Number(hours || 0).toFixed(2)} 小时`;

// The member logged in (the members' shared session: header, login form); null once the page shows something else.
export function member(run) {
  return session(run, [notice("info", "该账号不是党员账号", "群众点单请打开志愿服务点单页面；管理人员请使用电脑管理端。"),
    h("p", {}, h("a", { href: "/v/" }, "志愿服务点单"), " · ", h("a", { href: "/console/" }, "电脑管理端"))]);
}

export function flashBox(message, failure) {
  return h("div", { id: "flash" }, message ? notice("ok", message) : null, failure ? notice("error", failure) : null);
}

function position() {
  return new Promise((resolve, reject) => {
    navigator.geolocation.getCurrentPosition(resolve, reject, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
  });
}

export class LocationProblem extends Error {}

// The phone's position as the check-in operations take it; throws LocationProblem with what to do.
export async function locate() {
  if (!window.isSecureContext || !navigator.geolocation) {
    throw new LocationProblem("当前页面无法使用定位：请通过 https 地址打开本页。");
  }
  let fix;
  try {
    fix = await position();
  } catch (e) {
    if (e.code === 1) {
      throw new LocationProblem("无法获取您的位置：请在手机设置中打开定位服务（GPS），并允许浏览器或微信使用位置信息后重试。");
    }
    if (e.code === 3) throw new LocationProblem("定位超时：请到开阔处、确认已开启 GPS 后重试。");
    throw new LocationProblem("无法获取位置：请确认手机已开启定位服务（GPS）后重试。");
  }
  const { latitude, longitude, accuracy } = fix.coords;
  if (!(accuracy <= MAX_ACCURACY_M)) {
    throw new LocationProblem(`定位精度不足（误差约 ${Math.round(accuracy)} 米，要求不超过 ${MAX_ACCURACY_M} 米）：请到室外开阔处，开启精确定位后重试。`);
  }
  return { lat: latitude, lng: longitude, accuracy_m: accuracy, mock_location: false };
}

// A check-in's refusal in plain Chinese: the fence's with the distance the service measured.
export function refusalText(error) {
  if (error.code === "OUTSIDE_FENCE") {
    const detail = (error.details || []).find((d) => d && d.distance_m !== undefined) || {};
    if (detail.distance_m !== undefined && detail.radius_m !== undefined) {
      return `超出${detail.radius_m}米服务范围（距离约 ${Math.round(detail.distance_m)} 米），请到服务地点附近后重试。`;
    }
    // the service's own text names the radius and the distance
    return `${error.serverMessage || error.message}，请到服务地点附近后重试。`;
  }
  return error.message;
}

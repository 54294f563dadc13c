// The rotating code for a projector: GET .../qr/{direction}?mode=rotating gives the current code, its
// step_seconds and valid_until; the page fetches the next one when the step ends (the API accepts the current
// and the previous step, so a member scanning at the turn is not refused).
import { ApiError, call, errorText, isDenied, query, say } from "/console/shell.js";

const params = new URLSearchParams(location.search);
const id = params.get("id") || "";
const direction = params.get("direction") === "out" ? "out" : "in";
const label = direction === "in" ? "签到" : "签退";
const image = document.getElementById("screen-qr");
const countdown = document.getElementById("screen-countdown");
const failure = document.getElementById("screen-error");
let nextAt = 0;

async function show() {
  try {
    const code = await call("GET", `/v1/activities/${encodeURIComponent(id)}/qr/${direction}${query({ mode: "rotating" })}`);
    image.src = `data:image/png;base64,${code.png}`;
    image.dataset.validUntil = code.valid_until;
    say(failure, "");
    const step = (code.step_seconds || 30) * 1000;
    // valid_until is the end of the step after this one (the API still takes a code one step old): show the
    // next code when this step ends, i.e. one step before valid_until; never faster than once a second
    const stepEnds = code.valid_until ? Date.parse(code.valid_until) - step : Date.now() + step;
    const wait = Math.max(1000, Math.min(step, stepEnds - Date.now() + 500));
    nextAt = Date.now() + wait;
    setTimeout(show, wait);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      location.replace(`/console/login${query({ next: location.pathname + location.search })}`);
      return;
    }
    say(failure, isDenied(error) ? "无权访问或不存在" : errorText(error), "error");
    if (!isDenied(error)) setTimeout(show, 5000);
  }
}

function tick() {
  const left = Math.max(0, Math.ceil((nextAt - Date.now()) / 1000));
  countdown.textContent = nextAt ? `二维码定时自动更换，${left} 秒后更换` : "";
}

async function title() {
  try {
    const activity = await call("GET", `/v1/activities/${encodeURIComponent(id)}`);
    document.getElementById("screen-title").textContent = `${activity.branch_name} · ${activity.title} · ${label}`;
  } catch (error) {
    document.getElementById("screen-title").textContent = `主题党日${label}`;
  }
}

document.getElementById("screen-help").textContent = `请使用手机相机或微信扫一扫，扫码${label}`;
document.getElementById("screen-full").addEventListener("click", () => document.documentElement.requestFullscreen?.());
title();
show();
setInterval(tick, 1000);

// 资料附件: upload a file for an organisation node (POST /v1/orgs/{id}/attachments, the file as the body), the
// subtree's attachments with type, size, SHA-256 and download counts (GET /v1/orgs/{id}/attachments), and
// each file's download (GET /v1/attachments/{id}?download=1, counted by the service).
import { answerOr, boot, call, el, errorText, localTime, query, say, table } from "/console/shell.js";
import { fillOrgs, subtreeOrgs } from "/console/charts.js";

const TYPE_LABELS = {
  "application/pdf": "PDF",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint",
  "application/msword": "Word（97-2003）", "application/vnd.ms-excel": "Excel（97-2003）",
  "image/png": "PNG 图片", "image/jpeg": "JPEG 图片", "audio/mpeg": "MP3 音频", "audio/mp4": "M4A 音频",
  "video/mp4": "MP4 视频", "text/plain": "纯文本",
};
const form = document.getElementById("upload-form");
const status = document.getElementById("status");
const main = document.getElementById("main");
const box = document.getElementById("attachments");
const more = document.getElementById("more");
let rows = [];
let token = "";

/** 1536 -> "1.5 KB". */
export function sizeText(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

function row(attachment) {
  const link = el("a", { href: `/v1/attachments/${encodeURIComponent(attachment.attachment_id)}${query({ download: 1 })}`,
    class: "download", download: attachment.filename }, attachment.filename);
  // the count moves on the server: show it once the browser has asked for the file
  link.addEventListener("click", () => setTimeout(() => load(true), 1500));
  return [link, TYPE_LABELS[attachment.media_type] || attachment.media_type, sizeText(attachment.size),
    el("code", { title: attachment.sha256 }, attachment.sha256.slice(0, 12)), String(attachment.downloads),
    localTime(attachment.uploaded_at)];
}

function draw() {
  box.replaceChildren(rows.length
    ? table(["文件名", "类型", "大小", "SHA-256", "下载次数", "上传时间"], rows.map(row), { id: "attachment-rows" })
    : el("p", { class: "muted", id: "no-attachments" }, "暂无附件。"));
  more.hidden = !token;
}

async function load(fresh = true) {
  const org = form.org.value;
  if (!org) return;
  if (fresh) {
    rows = [];
    token = "";
  }
  const answer = await answerOr(main, status, call("GET",
    `/v1/orgs/${encodeURIComponent(org)}/attachments${query({ page_size: 50, page_token: fresh ? "" : token })}`));
  if (!answer) return;
  rows = fresh ? answer.attachments || [] : [...rows, ...(answer.attachments || [])];
  token = answer.next_page_token || "";
  draw();
}

async function upload(event) {
  event.preventDefault();
  const file = form.file.files[0];
  if (!file) return say(status, "请选择要上传的文件", "warn");
  const button = document.getElementById("upload");
  button.disabled = true;
  say(status, `正在上传“${file.name}”…`);
  try {
    const stored = await call("POST", `/v1/orgs/${encodeURIComponent(form.org.value)}/attachments`, file,
      { query: { filename: file.name }, contentType: file.type || "application/octet-stream" });
    say(status, stored.duplicate ? `该组织已有相同内容的文件“${stored.filename}”，未重复保存。`
      : `已上传“${stored.filename}”（${sizeText(stored.size)}）。`, stored.duplicate ? "warn" : "ok");
    form.file.value = "";
    await load(true);
  } catch (error) {
    say(status, errorText(error), "error");
  } finally {
    button.disabled = false;
  }
}

const { roles } = await boot("library");
const { roots, orgs } = await subtreeOrgs(roles, { secretaries: true });
fillOrgs(form.org, orgs, roots, new URLSearchParams(location.search).get("org") || "");
form.addEventListener("submit", upload);
form.org.addEventListener("change", () => {
  history.replaceState(null, "", location.pathname + query({ org: form.org.value }));
  load(true);
});
more.addEventListener("click", () => load(false));
load(true);

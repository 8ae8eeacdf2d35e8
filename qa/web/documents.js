// The documents panel: the indexed articles (GET /api/documents) with a delete button each,
// confirmed inside the panel; upload by file picker or drag-and-drop with a progress bar, then
// each file's outcome; the API key those writes need. Server text goes in as textContent only.

import { apiKey, sendWrite, setApiKey } from "./writes.js";

const dialog = document.getElementById("documents-view");
const openButton = document.getElementById("documents-open");
const closeButton = document.getElementById("documents-close");
const keyForm = document.getElementById("api-key-form");
const keyInput = document.getElementById("api-key");
const dropZone = document.getElementById("drop-zone");
const fileInput = document.getElementById("documents-files");
const progress = document.getElementById("upload-progress");
const statusLine = document.getElementById("documents-status");
const results = document.getElementById("upload-results");
const count = document.getElementById("documents-count");
const list = document.getElementById("documents-list");
let writing = false; // one write at a time from this page

const PROBLEM = {
  unreadable: "文件无法读取",
  not_found: "找不到该文件",
  type: "只能添加文本或 Markdown 文件",
  too_large: "文件超过大小上限",
  binary: "这是二进制文件，不是文本",
  undecodable: "不是 UTF-8 或 GB18030 编码的文本",
  empty: "文件是空的",
  no_words: "只有标点或符号，没有文字",
  duplicate: "与已收录的文章内容相同，未重复添加",
  unknown_id: "没有这篇文章",
};

const STATUS = {
  added: "已添加",
  replaced: "已替换",
  removed: "已删除",
  duplicate: "重复，未添加",
  rejected: "未收录",
};

function element(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

function button(text, className, onClick) {
  const made = element("button", className, text);
  made.type = "button";
  made.addEventListener("click", onClick);
  return made;
}

function say(text, kind = "") {
  statusLine.textContent = text;
  statusLine.dataset.kind = kind;
}

function setWriting(on) {
  writing = on;
  fileInput.disabled = on;
  dropZone.classList.toggle("disabled", on);
  for (const control of list.querySelectorAll("button")) control.disabled = on;
}

// "2024-05-01T08:30:00+00:00" → "添加于 2024-05-01 16:30" in the reader's time zone; "" → the original build.
function addedLine(iso) {
  if (!iso) return element("span", "document-added", "初始收录");
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return element("span", "document-added", "添加于 " + iso);
  const pad = (n) => String(n).padStart(2, "0");
  const time = element("time", "document-added",
    `添加于 ${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`);
  time.dateTime = iso;
  return time;
}

// ---- The list ----

function actions(item, doc) {
  const box = element("div", "document-actions");
  const remove = button("删除", "danger", () => confirmRemoval(item, doc));
  remove.setAttribute("aria-label", "删除《" + doc.title + "》");
  remove.disabled = writing;
  box.append(remove);
  return box;
}

function confirmRemoval(item, doc) {
  const box = element("div", "document-actions confirm");
  box.setAttribute("role", "group");
  const question = element("span", "confirm-question", "确定删除《" + doc.title + "》吗？删除后将不再据此回答问题。");
  question.id = "confirm-" + Math.random().toString(36).slice(2);
  box.setAttribute("aria-labelledby", question.id);
  const cancel = button("取消", "secondary", () => {
    const restored = actions(item, doc);
    box.replaceWith(restored);
    item.classList.remove("confirming");
    restored.querySelector("button").focus();
  });
  const confirm = button("确定删除", "danger confirm-delete", () => removeDocument(doc));
  box.append(question, confirm, cancel);
  item.querySelector(".document-actions").replaceWith(box);
  item.classList.add("confirming");
  cancel.focus(); // the safe choice first; Tab or Shift+Tab reaches the other
}

function documentItem(doc) {
  const item = element("li", "document");
  item.dataset.id = doc.id;
  const meta = element("div", "document-meta");
  meta.append(
    element("span", "document-id", "编号 " + doc.id),
    " · ",
    element("span", "document-chunks", doc.chunk_count + " 段"),
    " · ",
    addedLine(doc.added_at),
  );
  const about = element("div", "document-about");
  about.append(element("div", "document-title", doc.title || "（无标题）"), meta);
  item.append(about);
  item.append(actions(item, doc));
  return item;
}

async function refreshList() {
  list.dataset.state = "loading";
  try {
    const response = await fetch("/api/documents", { cache: "no-store" });
    const docs = await response.json().catch(() => null);
    if (!response.ok || !Array.isArray(docs)) throw new Error((docs && docs.detail) || "HTTP " + response.status);
    count.textContent = "已收录的文章（共 " + docs.length + " 篇）";
    count.dataset.count = String(docs.length);
    list.replaceChildren(...docs.map(documentItem));
    list.dataset.state = "loaded";
  } catch (error) {
    count.textContent = "已收录的文章";
    const why = error instanceof TypeError ? "无法连接服务器" : error.message; // fetch's own failure: no reply
    list.replaceChildren(element("li", "document-error", "无法载入文章列表：" + why));
    list.dataset.state = "error";
  }
}

// ---- Writes ----

function showOutcomes(reply) {
  const items = reply.outcomes.map((outcome) => {
    const item = element("li", "outcome outcome-" + outcome.status);
    item.dataset.status = outcome.status;
    if (outcome.article_id) item.dataset.articleId = outcome.article_id;
    const head = element("div", "outcome-head");
    head.append(
      element("span", "outcome-name", outcome.name || outcome.article_id || ""),
      element("span", "outcome-status", STATUS[outcome.status] || outcome.status),
    );
    item.append(head);
    const details = [];
    if (outcome.article_id) details.push("编号 " + outcome.article_id);
    if (outcome.chunks) details.push(outcome.chunks + " 段");
    if (details.length) item.append(element("div", "outcome-detail", details.join(" · ")));
    if (outcome.reason) {
      // The server's reason is in English; its problem code is worded here, the reason kept as detail.
      const worded = PROBLEM[outcome.problem];
      item.append(element("div", "outcome-reason", worded ? worded + "（" + outcome.reason + "）" : outcome.reason));
    }
    return item;
  });
  results.replaceChildren(...items);
  const tally = {};
  for (const outcome of reply.outcomes) tally[outcome.status] = (tally[outcome.status] || 0) + 1;
  const summary = Object.entries(tally).map(([status, n]) => (STATUS[status] || status) + " " + n).join("，");
  const seconds = typeof reply.seconds === "number" ? "，用时 " + reply.seconds.toFixed(1) + " 秒" : "";
  const failed = reply.outcomes.some((o) => o.status === "rejected" || o.status === "duplicate");
  say("处理完成：" + (summary || "没有变化") + seconds + "。", failed ? "warning" : "ok");
}

function showFailure(error) {
  results.replaceChildren();
  say(error.message, "error");
  if (error.status === 401) {
    keyInput.focus();
    keyInput.select();
  }
}

async function write(method, url, body, onProgress) {
  setWriting(true);
  try {
    const reply = await sendWrite(method, url, body, onProgress);
    showOutcomes(reply);
    return true;
  } catch (error) {
    showFailure(error);
    return false;
  } finally {
    setWriting(false);
    await refreshList();
  }
}

async function upload(files) {
  if (writing || !files.length) return;
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  results.replaceChildren();
  progress.hidden = false;
  progress.value = 0;
  progress.dataset.state = "uploading";
  say("正在上传 " + files.length + " 个文件……");
  const done = await write("POST", "/api/documents", form, (fraction) => {
    progress.value = Math.round(fraction * 100);
    if (fraction >= 1) say("已上传，服务器正在处理（切分、编码、写入索引）……");
  });
  if (done) progress.value = progress.max;
  progress.dataset.state = done ? "done" : "failed";
  fileInput.value = ""; // the same file may be chosen again
}

async function removeDocument(doc) {
  if (writing) return;
  results.replaceChildren();
  say("正在删除《" + doc.title + "》……");
  await write("DELETE", "/api/documents/" + encodeURIComponent(doc.id));
  // The item and its buttons are gone: keep the keyboard in the panel (unless the key field took it).
  if (!dialog.contains(document.activeElement)) (list.querySelector("button") || closeButton).focus();
}

// ---- The panel ----

keyInput.value = apiKey();
keyForm.addEventListener("submit", (event) => event.preventDefault()); // Enter in the key field sends nothing
keyInput.addEventListener("input", () => setApiKey(keyInput.value.trim()));

fileInput.addEventListener("change", () => upload([...fileInput.files]));

dropZone.addEventListener("dragover", (event) => {
  event.preventDefault(); // allows the drop
  event.dataTransfer.dropEffect = writing ? "none" : "copy";
  dropZone.classList.add("dragging");
});
dropZone.addEventListener("dragleave", (event) => {
  if (!dropZone.contains(event.relatedTarget)) dropZone.classList.remove("dragging");
});
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("dragging");
  upload([...event.dataTransfer.files]);
});
// A file dropped beside the zone must not replace the page with the file's contents.
for (const type of ["dragover", "drop"]) {
  dialog.addEventListener(type, (event) => {
    if (!dropZone.contains(event.target)) event.preventDefault();
  });
}

openButton.addEventListener("click", () => {
  if (!dialog.open) dialog.showModal();
  refreshList();
});
closeButton.addEventListener("click", () => dialog.close());
// A click on the backdrop (pressed and released outside the panel) closes the panel.
let pressedOutside = false;
dialog.addEventListener("mousedown", (event) => { pressedOutside = event.target === dialog; });
dialog.addEventListener("click", (event) => {
  if (event.target === dialog && pressedOutside) dialog.close();
});
dialog.addEventListener("close", () => openButton.focus());

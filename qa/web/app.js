// The chat page: sends each message to /api/chat and shows the reply (rendered by answer.js).
// Everything from the server is inserted as text (textContent), never as HTML.

import { renderAnswer } from "./answer.js";
import "./documents.js";

const messages = document.getElementById("messages");
const form = document.getElementById("ask-form");
const input = document.getElementById("question");
const send = document.getElementById("send");
let conversationId = sessionStorage.getItem("conversationId");

function show(item) {
  messages.appendChild(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

function addMessage(kind, text) {
  const item = document.createElement("li");
  item.className = "message " + kind;
  const line = document.createElement("div");
  line.className = "text";
  line.textContent = text;
  item.appendChild(line);
  return show(item);
}

async function ask(text) {
  addMessage("user", text);
  const pending = addMessage("bot pending", "正在查找……");
  send.disabled = true;
  try {
    const response = await fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message: text, conversation_id: conversationId }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const detail = Array.isArray(body.detail) ? body.detail.map((d) => d.msg).join("；") : body.detail;
      throw new Error(detail || "HTTP " + response.status);
    }
    conversationId = body.conversation_id;
    sessionStorage.setItem("conversationId", conversationId);
    pending.remove();
    show(renderAnswer(body, text));
  } catch (error) {
    pending.remove();
    const item = addMessage("bot error", "出错了：" + error.message + "。请稍后再试。");
    item.dataset.state = "error";
  } finally {
    send.disabled = false;
    input.focus();
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) {
    input.focus();
    return;
  }
  input.value = "";
  ask(text);
});

document.getElementById("new-chat").addEventListener("click", () => {
  conversationId = null;
  sessionStorage.removeItem("conversationId");
  messages.replaceChildren();
  input.focus();
});

// The chat page: sends each message to /api/chat and shows the answer inside its evidence sentence.
// Everything from the server is inserted as text (textContent), never as HTML.
"use strict";

const messages = document.getElementById("messages");
const form = document.getElementById("ask-form");
const input = document.getElementById("question");
const send = document.getElementById("send");
let conversationId = sessionStorage.getItem("conversationId");

function addMessage(kind, parts) {
  const item = document.createElement("li");
  item.className = "message " + kind;
  for (const [className, text] of parts) {
    const line = document.createElement("div");
    line.className = className;
    line.textContent = text;
    item.appendChild(line);
  }
  messages.appendChild(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

function sentenceWithAnswer(result) {
  const line = document.createElement("div");
  line.className = "sentence";
  const [start, end] = result.answer_in_sentence;
  const strong = document.createElement("strong");
  strong.textContent = result.sentence.slice(start, end);
  line.append(document.createTextNode("依据：" + result.sentence.slice(0, start)), strong,
              document.createTextNode(result.sentence.slice(end)));
  return line;
}

function showAnswer(result) {
  if (result.abstained) {
    const item = addMessage("bot no-answer", [
      ["answer", "没有找到答案"],
      ["sentence", "已收录的文章中没有足够的依据回答这个问题。"],
      ["confidence", "置信度 " + result.confidence.toFixed(2)],
    ]);
    item.dataset.state = "abstained";
    return;
  }
  const item = addMessage("bot", [["answer", result.answer]]);
  item.dataset.state = "answered";
  item.appendChild(sentenceWithAnswer(result));
  const source = result.source;
  const where = document.createElement("div");
  where.className = "source";
  where.textContent = "来源：" + source.title + (source.heading ? " · " + source.heading : "") + " · 第" + source.paragraph + "段";
  item.appendChild(where);
  const confidence = document.createElement("div");
  confidence.className = "confidence";
  confidence.textContent = "置信度 " + result.confidence.toFixed(2);
  item.appendChild(confidence);
  if (result.resolved_question && result.resolved_question !== result.question_typed) {
    const resolved = document.createElement("div");
    resolved.className = "resolved";
    resolved.textContent = "理解为：" + result.resolved_question;
    item.appendChild(resolved);
  }
}

async function ask(text) {
  addMessage("user", [["text", text]]);
  const pending = addMessage("bot pending", [["text", "正在查找……"]]);
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
    body.question_typed = text;
    showAnswer(body);
  } catch (error) {
    pending.remove();
    const item = addMessage("bot error", [["text", "出错了：" + error.message + "。请稍后再试。"]]);
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

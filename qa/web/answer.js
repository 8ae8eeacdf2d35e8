// One bot reply on the page: the answer inside its evidence sentence, the source linking to the
// article view, a copy button for the answer with its citation, and the passages it was chosen
// from (ranked, with scores) with the question as resolved. Everything is inserted as text.

import { openArticle } from "./article.js";

function line(className, text) {
  const element = document.createElement("div");
  element.className = className;
  element.textContent = text;
  return element;
}

function sentenceWithAnswer(result) {
  const [start, end] = result.answer_in_sentence;
  const element = line("sentence", "依据：" + result.sentence.slice(0, start));
  const strong = document.createElement("strong");
  strong.textContent = result.sentence.slice(start, end);
  element.append(strong, result.sentence.slice(end));
  return element;
}

function sourceLine(source) {
  const element = line("source", "来源：");
  const link = document.createElement("a");
  link.className = "article-link";
  link.href = "/api/documents/" + encodeURIComponent(source.article_id);
  link.textContent = source.title + (source.heading ? " · " + source.heading : "") + " · 第" + source.paragraph + "段";
  link.title = "在原文中查看";
  link.addEventListener("click", (event) => {
    event.preventDefault();
    openArticle(source, link);
  });
  element.append(link);
  return element;
}

async function writeClipboard(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Pages served over plain http to another machine have no Clipboard API: copy from a hidden text area.
  const area = document.createElement("textarea");
  area.className = "offscreen";
  area.value = text;
  document.body.append(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  if (!copied) throw new Error("copy refused");
}

function copyButton(textOf) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "copy";
  button.textContent = "复制答案和出处";
  button.addEventListener("click", async () => {
    try {
      await writeClipboard(textOf());
      button.textContent = "已复制";
    } catch {
      button.textContent = "复制失败，请手动选择文字";
    }
    setTimeout(() => { button.textContent = "复制答案和出处"; }, 2500);
  });
  const actions = document.createElement("div");
  actions.className = "actions";
  actions.append(button);
  return actions;
}

function passageList(result) {
  const details = document.createElement("details");
  details.className = "passages";
  const summary = document.createElement("summary");
  summary.textContent = "查看答案取自的段落（" + result.passages.length + "）";
  details.append(summary, line("resolved-question", "检索用的问题：" + result.question));
  const list = document.createElement("ol");
  list.className = "passage-list";
  for (const passage of result.passages) {
    const item = document.createElement("li");
    item.className = "passage";
    const chosen = result.source && result.source.chunk_id === passage.chunk_id;
    if (chosen) item.classList.add("chosen");
    item.append(
      line("passage-meta", [
        "第" + passage.rank + "名",
        "得分 " + passage.score.toFixed(3),
        "BM25 " + passage.bm25.toFixed(2),
        "向量 " + passage.dense.toFixed(3),
        passage.title + " · 第" + passage.paragraph + "段",
      ].concat(chosen ? ["答案出处"] : []).join(" · ")),
      line("passage-text", passage.text),
    );
    list.append(item);
  }
  details.append(list);
  return details;
}

// The reply element for a /api/chat result; typed is the message as the user typed it.
export function renderAnswer(result, typed) {
  const item = document.createElement("li");
  if (result.abstained) {
    item.className = "message bot no-answer";
    item.dataset.state = "abstained";
    item.append(
      line("answer", "没有找到答案"),
      line("sentence", "已收录的文章中没有足够的依据回答这个问题。"),
      line("confidence", "置信度 " + result.confidence.toFixed(2)),
      passageList(result),
    );
    return item;
  }
  item.className = "message bot";
  item.dataset.state = "answered";
  const sentence = sentenceWithAnswer(result);
  const source = sourceLine(result.source);
  item.append(line("answer", result.answer), sentence, source,
              line("confidence", "置信度 " + result.confidence.toFixed(2)));
  if (result.resolved_question && result.resolved_question !== typed) {
    item.append(line("resolved", "理解为：" + result.resolved_question));
  }
  item.append(
    copyButton(() => ["答案：" + result.answer, sentence.textContent, source.textContent].join("\n")),
    passageList(result),
  );
  return item;
}

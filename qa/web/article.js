// The article view: the answer's article in a dialog, its evidence sentence highlighted
// (the answer in bold inside it) and scrolled into view. Text goes in as textContent only.

const dialog = document.getElementById("article-view");
const title = document.getElementById("article-title");
const meta = document.getElementById("article-meta");
const body = document.getElementById("article-text");
let opener = null;

document.getElementById("article-close").addEventListener("click", () => dialog.close());
// A click on the backdrop (the dialog element itself, outside its panel) closes it too.
dialog.addEventListener("click", (event) => {
  if (event.target === dialog) dialog.close();
});
// Keyboard users go back to the link they came from (Escape closes a modal dialog natively).
dialog.addEventListener("close", () => opener?.focus());

function span(tag, text) {
  const element = document.createElement(tag);
  element.textContent = text;
  return element;
}

function showText(text, source) {
  const mark = document.createElement("mark");
  mark.id = "article-sentence";
  mark.append(
    text.slice(source.sentence_start, source.start),
    span("strong", text.slice(source.start, source.end)),
    text.slice(source.end, source.sentence_end),
  );
  body.replaceChildren(text.slice(0, source.sentence_start), mark, text.slice(source.sentence_end));
  mark.scrollIntoView({ block: "center" });
}

// Open the article an answer comes from; link is where focus returns on closing.
export async function openArticle(source, link) {
  opener = link;
  title.textContent = source.title;
  meta.textContent = "正在载入原文……";
  body.replaceChildren();
  if (!dialog.open) dialog.showModal();
  try {
    const response = await fetch("/api/documents/" + encodeURIComponent(source.article_id));
    const article = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(article.detail || "HTTP " + response.status);
    meta.textContent = [source.heading, "第" + source.paragraph + "段", article.source].filter(Boolean).join(" · ");
    showText(article.text, source);
    dialog.dataset.state = "loaded";
  } catch (error) {
    meta.textContent = "无法载入原文：" + error.message;
    dialog.dataset.state = "error";
  }
}

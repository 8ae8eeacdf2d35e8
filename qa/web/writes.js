// Write requests to /api/documents (upload, replace, delete): the API key kept for this tab and
// sent as X-API-Key, XMLHttpRequest so that an upload can report its progress, and what a failed
// request means, in words for people.

const KEY = "qaApiKey";

// The API key entered in this tab (sessionStorage: gone when the tab closes), or "".
export function apiKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

// A write that did not go through; status is the HTTP status (0: no reply at all).
export class WriteError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

function detailOf(reply) {
  const detail = reply && reply.detail;
  if (!detail) return "";
  return Array.isArray(detail) ? detail.map((d) => d.msg).join("；") : String(detail);
}

function failure(status, reply) {
  const detail = detailOf(reply);
  const because = detail ? "（" + detail + "）" : "";
  switch (status) {
    case 401:
      return "API 密钥缺失或错误，请在上方输入正确的密钥" + because;
    case 403:
      return "服务器没有开放写操作：" + (detail || "需要在服务器上设置 QA_API_KEY");
    case 404:
      return "找不到这篇文章，可能已被删除" + because;
    case 409:
      return "索引正忙（另一个写操作正在进行），请稍后再试" + because;
    case 413:
      return "上传的内容太大" + because;
    default:
      return "出错了：" + (detail || "HTTP " + status);
  }
}

// Send a write request; resolves with the reply's JSON ({outcomes, generation, seconds}), rejects
// with a WriteError. body is FormData, an object (sent as JSON) or undefined; onProgress(fraction)
// is called while the body uploads.
export function sendWrite(method, url, body, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(method, url);
    request.responseType = "json";
    try {
      const key = apiKey();
      if (key) request.setRequestHeader("X-API-Key", key);
    } catch {
      reject(new WriteError("API 密钥只能包含英文字母、数字和符号", 401));
      return;
    }
    let payload = body ?? null;
    if (payload !== null && !(payload instanceof FormData)) {
      request.setRequestHeader("Content-Type", "application/json");
      payload = JSON.stringify(payload);
    }
    if (onProgress) {
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
      });
    }
    request.addEventListener("load", () => {
      const reply = request.response;
      if (request.status >= 200 && request.status < 300) {
        if (reply && Array.isArray(reply.outcomes)) resolve(reply);
        else reject(new WriteError("服务器的回复无法识别（HTTP " + request.status + "），请刷新列表查看结果", request.status));
      } else {
        reject(new WriteError(failure(request.status, reply), request.status));
      }
    });
    request.addEventListener("error", () => reject(new WriteError("网络错误：无法连接服务器，请检查网络或服务器后再试", 0)));
    request.addEventListener("timeout", () => reject(new WriteError("服务器长时间没有回应，请稍后刷新列表查看结果", 0)));
    request.addEventListener("abort", () => reject(new WriteError("请求已取消", 0)));
    request.timeout = 10 * 60 * 1000;
    request.send(payload);
  });
}

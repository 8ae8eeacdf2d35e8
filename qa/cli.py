"""The ``qa`` command: build an index, add and remove articles, ask questions, evaluate, serve the chat, chat in the terminal."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from qa.formatting import Markup, answer_lines
from qa.manifest import IndexProblem
from qa.settings import MAX_TOP_K, Settings, get_settings
from qa.types import Answer

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def _settings(args: argparse.Namespace) -> Settings:
    """Process settings with the command-line overrides applied."""
    overrides = {
        "embed_model": getattr(args, "model", None),
        "index_dir": getattr(args, "index", None),
        "dense_index": getattr(args, "dense_index", None),
        "top_k": getattr(args, "top_k", None),
        "workers": getattr(args, "workers", None),
    }
    return get_settings().model_copy(update={k: v for k, v in overrides.items() if v is not None})


WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def _bounded_int(low: int, high: int):
    """An argparse type for integers from low to high."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, not {value}")
        return value

    return parse


def _load_engine(settings: Settings):
    """The engine over the index of settings.corpus_dir; a stale index is reported on stderr (by logging)."""
    from qa.engine import Engine

    return Engine.load(settings.index_dir, settings, build_if_missing=True, check_corpus=True)


# The terminal's markup for the shared answer wording (qa.formatting).
TERMINAL = Markup(
    escape=escape,
    answer=lambda text: f"[bold green]{text}[/]",
    highlight=lambda text: f"[bold reverse]{text}[/]",
    quiet=lambda text: f"[dim]{text}[/]",
    warning=lambda text: f"[bold yellow]{text}[/]",
)


def render_answer(answer: Answer, console: Console = out) -> None:
    """Print an answer for people: the answer, the marked evidence sentence, the source."""
    for line in answer_lines(answer, TERMINAL):
        console.print(line)


def cmd_index(args: argparse.Namespace) -> int:
    from qa.backends import get_backend

    settings = _settings(args)
    corpus = Path(args.corpus_dir or settings.corpus_dir)
    backend = get_backend(settings)
    target = Path(args.out or settings.index_dir)
    manifest = backend.build(corpus, target)  # logs each file it skips, once
    out.print(
        f"indexed {manifest.articles} articles, {manifest.chunks} chunks into {backend.location(target)} "
        f"({manifest.encoder}, {manifest.dim}-d, {manifest.dense_index}) in {manifest.build_seconds:.1f} s"
    )
    return 0


STATUS_STYLE = {"added": "green", "replaced": "green", "removed": "green", "duplicate": "yellow", "rejected": "red"}


def _print_report(report, settings: Settings) -> int:
    """Print a write's outcomes, one line each, and compact when due; 1 when anything was rejected."""
    for outcome in report.outcomes:
        style = STATUS_STYLE[outcome.status]
        what = f" → {escape(outcome.article_id)}" if outcome.article_id and outcome.article_id != outcome.name else ""
        detail = f" ({outcome.chunks} chunks)" if outcome.status in ("added", "replaced", "removed") else ""
        reason = f": {escape(outcome.reason)}" if outcome.reason else ""
        out.print(f"[{style}]{outcome.status}[/] {escape(outcome.name)}{what}{detail}{reason}")
    out.print(f"[dim]generation {report.generation[:8]} in {report.seconds:.2f} s[/]")
    if report.compaction_due:
        from qa.backends import get_backend

        # only_if_due: the compaction a write makes due, never the (minutes long) dense merge `qa compact` may do.
        compacted = get_backend(settings).writer(settings.index_dir).compact(only_if_due=True)
        if compacted is not None:
            out.print(f"[dim]compacted the index (its latest segments merged into one) in {compacted.seconds:.2f} s[/]")
    return 1 if any(o.status == "rejected" for o in report.outcomes) else 0


def _writer(args: argparse.Namespace):
    from qa.backends import get_backend

    settings = _settings(args)
    return get_backend(settings).writer(settings.index_dir, progress=True), settings


def cmd_add(args: argparse.Namespace) -> int:
    from qa.intake import read_paths

    writer, settings = _writer(args)
    return _print_report(writer.add(read_paths(args.paths)), settings)


def cmd_replace(args: argparse.Namespace) -> int:
    from qa.intake import read_paths

    writer, settings = _writer(args)
    return _print_report(writer.replace(args.article_id, read_paths([args.path])[0]), settings)


def cmd_remove(args: argparse.Namespace) -> int:
    writer, settings = _writer(args)
    return _print_report(writer.remove(args.article_ids), settings)


def cmd_compact(args: argparse.Namespace) -> int:
    writer, _ = _writer(args)
    report = writer.compact()
    out.print(f"compacted the index in {report.seconds:.2f} s (generation {report.generation[:8]})")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from qa.backends import get_backend

    settings = _settings(args)
    articles, summary = get_backend(settings).listing(settings.index_dir)
    if args.json:
        print(json.dumps([a.model_dump(exclude={"sha256"}) for a in articles], ensure_ascii=False, indent=2))
        return 0
    for article in articles:
        out.print(f"{escape(article.id)}\t{article.chunk_count} chunks\t{article.added_at}\t{escape(article.title)}")
    out.print(f"[dim]{escape(summary)}[/]")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from qa.manifest import Manifest

    folder = Path(_settings(args).index_dir)
    manifest = Manifest.load(folder)
    manifest.check_files(folder, full=True)  # raises IndexMismatchError, reported by main
    total = sum(record.size for record in manifest.files.values())
    out.print(f"{folder}: all {len(manifest.files)} files whole ({total / 1e6:.1f} MB hashed), "
              f"generation {manifest.generation[:8]}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.engine import EmptyQuestionError

    question = " ".join(args.question)
    if not question.strip():
        raise EmptyQuestionError("the question is empty; ask something, e.g. qa ask \"徐州缓缴社保多少\"")
    engine = _load_engine(_settings(args))
    answer = engine.ask(question, args.top_k)
    if args.json:
        print(answer.model_dump_json(indent=2, exclude={"passages"}))
    else:
        render_answer(answer)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from qa.evaluation.harness import evaluate
    from qa.evaluation.report import compare, print_table, write_report

    settings = _settings(args)
    result, predictions = evaluate(args.path, settings, settings.index_dir, args.limit, progress=not args.json,
                                   split=args.split)
    baseline = json.loads(Path(args.baseline).read_text("utf-8")) if args.baseline else None
    if args.report:
        write_report(Path(args.report), result, predictions, f"qa eval {args.path}")
    if args.json:
        payload = dict(result)
        if baseline:
            payload = {**payload, "settings": {**payload["settings"], "change_vs_baseline": compare(result, baseline)}}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print_table(result, out, baseline)
        if args.report:
            out.print(f"report written to {args.report}/report.md")
    return 0


def _worker_count(settings: Settings) -> int:
    """How many worker processes `qa serve` runs: --workers or QA_WORKERS, else one per core; ValueError
    for more than one where a process's state cannot be shared."""
    from qa.backends import get_backend
    from qa.settings import default_workers

    workers = settings.workers or default_workers()
    if workers == 1:
        return 1
    if get_backend(settings).one_process_only():
        if settings.workers is None:
            return 1  # the default bends; an explicit number is refused below
        raise ValueError(f"a Milvus Lite file ({settings.milvus_uri}) can be open in one process only: serve it "
                         "with --workers 1, or run a Milvus server (QA_MILVUS_URI=http://host:19530)")
    if settings.conversation_store == "memory":
        raise ValueError(f"QA_CONVERSATION_STORE=memory keeps conversations in one process, so {workers} workers "
                         "would lose follow-ups: use --workers 1, or the default store (sqlite)")
    return workers


def _prepare_index(settings: Settings) -> None:
    """Build the index from the corpus when there is none, before the workers start (not in each of them)."""
    from qa.backends import get_backend

    backend = get_backend(settings)
    if not backend.exists(settings.index_dir):
        logging.getLogger(__name__).warning("no index in %s; building it from %s", backend.location(settings.index_dir),
                                            settings.corpus_dir)
        backend.build(settings.corpus_dir, settings.index_dir)


def cmd_serve(args: argparse.Namespace) -> int:
    from qa.serving import serve, serve_workers

    settings = _settings(args)
    if args.host not in WILDCARD_HOSTS and args.host not in settings.allowed_hosts:
        # The address it listens on is a name it is reached by; others come from QA_ALLOWED_HOSTS.
        settings = settings.model_copy(update={"allowed_hosts": [*settings.allowed_hosts, args.host]})
    workers = _worker_count(settings)
    if workers == 1:
        from qa.api.app import create_app

        engine = _load_engine(settings)  # load (or build) before listening, so the first request is fast
    else:
        _prepare_index(settings)  # each worker loads the index and answers a first question before it listens
    processes = "one process" if workers == 1 else f"{workers} worker processes, each once it has loaded the index"
    out.print(f"serving the chat at http://{args.host}:{args.port} from {processes}  (API docs at /docs)")
    if args.host in WILDCARD_HOSTS:
        out.print(f"answering requests for {', '.join(settings.allowed_hosts)} only; "
                  "set QA_ALLOWED_HOSTS to the names this machine is reached by")
    if workers == 1:
        serve(create_app(settings, engine), args.host, args.port, settings)
    elif not serve_workers(args.host, args.port, settings, workers):
        raise RuntimeError("a worker process could not start (its error is above); the server has stopped")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from qa.conversation import resolve
    from qa.conversation_store import Turn
    from qa.engine import EmptyQuestionError

    engine = _load_engine(_settings(args))
    turns: list[Turn] = []
    out.print("输入问题，回车发送；可以接着追问。输入 /new 开始新对话，/quit 或 Ctrl-D 退出。")
    while True:
        try:
            message = out.input("[bold blue]问：[/]").strip()
        except EOFError:
            out.print()
            return 0
        if message in ("/quit", "/exit"):
            return 0
        if message == "/new":
            turns.clear()
            continue
        if not message:
            continue
        question = resolve(message, turns[-1].question if turns else None)
        if question != message:
            out.print(f"[dim]理解为：{escape(question)}[/]")
        try:
            answer = engine.ask(question)
        except EmptyQuestionError:
            continue
        render_answer(answer)
        turns.append(Turn(message=message, question=question, answer=answer.answer))


def cmd_bench(args: argparse.Namespace) -> int:
    from qa.bench.run import run_bench

    settings = get_settings()
    results = run_bench(args.sizes, args.report, settings.shared_dir, args.cache, args.dense_index, args.questions,
                        args.stage_sample, args.seed, say=lambda message: err.print(escape(message)),
                        keep_build=args.keep_build)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for entry in results["sizes"]:
            q, h = entry["query"], entry["http"]["clients_16"]
            out.print(f"{entry['build']['chunks']:,} chunks: build {entry['build']['chunks_per_s']} chunks/s, "
                      f"peak {entry['build']['peak_rss_mb']:.0f} MB; load {q['load_s']} s; ask p50 "
                      f"{q['ms']['ask']['p50']} / p99 {q['ms']['ask']['p99']} ms ({q['ask_over_floor']}× floor); "
                      f"HTTP 16 clients {h['requests_per_second']} req/s, p99 {h['p99_ms']} ms")
        if args.report:
            out.print(f"report written to {args.report}/RESULTS.md")
    return 0


def _sizes(text: str) -> list[int]:
    """--sizes 1000,10000: corpus sizes in chunks."""
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of whole numbers") from None
    if not sizes or min(sizes) < 100:
        raise argparse.ArgumentTypeError("give sizes of at least 100 chunks, e.g. 10000,100000")
    return sizes


def _index_options(parser: argparse.ArgumentParser) -> None:
    """The options of every command that loads an index."""
    parser.add_argument("--index", help="index folder (default: index/, built from corpus/ when missing)")
    parser.add_argument("--model", help="embedding model the index was built with (default: use-m3)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="qa", description="Question answering over Chinese articles.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="build the index from a folder of articles")
    index.add_argument("corpus_dir", nargs="?", help="folder of .txt/.md articles (default: corpus/)")
    index.add_argument("--out", help="index folder to write (default: index/)")
    index.add_argument("--model", help="embedding model: use-m3 (default) or a sentence-transformers name/folder")
    index.add_argument("--dense-index", choices=["auto", "flat", "hnsw", "ivf"],
                       help="FAISS index type (default: auto, flat below 50,000 chunks per segment, hnsw from there)")
    index.set_defaults(run=cmd_index)

    add = sub.add_parser("add", help="add articles (files or folders of .txt/.md) to the index, without a rebuild")
    add.add_argument("paths", nargs="+", help="files or folders")
    _index_options(add)
    add.set_defaults(run=cmd_add)

    replace = sub.add_parser("replace", help="replace an indexed article by a file, keeping its id")
    replace.add_argument("article_id")
    replace.add_argument("path", help="the new .txt/.md file")
    _index_options(replace)
    replace.set_defaults(run=cmd_replace)

    remove = sub.add_parser("remove", help="remove articles from the index by id (see `qa list`)")
    remove.add_argument("article_ids", nargs="+", metavar="ARTICLE_ID")
    _index_options(remove)
    remove.set_defaults(run=cmd_remove)

    listing = sub.add_parser("list", help="list the indexed articles")
    listing.add_argument("--json", action="store_true", help="print them as JSON")
    _index_options(listing)
    listing.set_defaults(run=cmd_list)

    compact = sub.add_parser(
        "compact", help="merge the segments added since the last full one into one and drop their removed chunks for good"
    )
    _index_options(compact)
    compact.set_defaults(run=cmd_compact)

    verify = sub.add_parser("verify", help="hash every index file against its manifest (loading only checks sizes "
                            "and times)")
    _index_options(verify)
    verify.set_defaults(run=cmd_verify)

    ask = sub.add_parser("ask", help="answer one question")
    ask.add_argument("question", nargs="+", help="the question, e.g. 徐州缓缴社保多少")
    ask.add_argument("--json", action="store_true", help="print the result object as JSON")
    ask.add_argument("--top-k", type=_bounded_int(1, MAX_TOP_K), help="passages the answer is looked for in (default: 3)")
    _index_options(ask)
    ask.set_defaults(run=cmd_ask)

    evaluate = sub.add_parser("eval", help="score the engine on a question set (JSONL or SQuAD JSON)")
    evaluate.add_argument("path", help="eval/seeds.jsonl, or a SQuAD-format file such as CMRC 2018")
    _index_options(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object of metrics")
    evaluate.add_argument("--report", help="write report.md, results.json, predictions and plots here")
    evaluate.add_argument("--baseline", help="an earlier results.json to compare against")
    evaluate.add_argument("--limit", type=_bounded_int(1, 10**9), help="only the first N questions")
    evaluate.add_argument("--split", choices=["train", "dev", "test"],
                          help="for SQuAD-format files: only the articles of this split (see qa/evaluation/splits.py)")
    evaluate.add_argument("--top-k", type=_bounded_int(1, MAX_TOP_K), help="passages the answer is looked for in")
    evaluate.set_defaults(run=cmd_eval)

    serve = sub.add_parser("serve", help="serve the chat page and JSON API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_bounded_int(0, 65535), default=8000)
    serve.add_argument("--workers", type=_bounded_int(1, 64),
                       help="worker processes, each with the index loaded (default: QA_WORKERS, else one per core)")
    _index_options(serve)
    serve.set_defaults(run=cmd_serve)

    chat = sub.add_parser("chat", help="chat in the terminal, with follow-up questions")
    _index_options(chat)
    chat.set_defaults(run=cmd_chat)

    bench = sub.add_parser("bench", help="measure build, questions and HTTP on corpora of given sizes")
    bench.add_argument("--sizes", type=_sizes, default=[10_000, 100_000], help="chunks, e.g. 10000,100000")
    bench.add_argument("--json", action="store_true", help="print every figure as JSON")
    bench.add_argument("--report", default="bench", help="folder for RESULTS.md, results.json, plots (default: bench/)")
    bench.add_argument("--dense-index", choices=["flat", "hnsw", "ivf", "auto"], default="auto",
                       help="FAISS index type (default auto: flat below 50,000 chunks, hnsw from there)")
    bench.add_argument("--questions", type=_bounded_int(10, 100_000), default=300, help="questions asked per size")
    bench.add_argument("--stage-sample", type=_bounded_int(10, 1_000_000), default=2000,
                       help="chunks each build stage is timed on alone (default 2000)")
    bench.add_argument("--cache", default=".qa-cache/bench", help="folder for the corpora and indexes it makes")
    bench.add_argument("--seed", type=int, default=0, help="seed of the recombined articles and the questions")
    bench.add_argument("--keep-build", action="store_true",
                       help="measure questions and HTTP again on the indexes left in --cache, keeping the build "
                            "figures of the earlier run in --report")
    bench.set_defaults(run=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the qa command; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, LookupError, RuntimeError, IndexProblem) as error:
        err.print(f"[bold red]error:[/] {escape(str(error))}")
        return 2 if isinstance(error, ValueError) else 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

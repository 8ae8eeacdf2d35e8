"""The documents resource: list the indexed articles, read one, add, replace and remove them.

Reading is open to all. Writing (``POST``, ``PUT``, ``DELETE``) needs the API key
(qa.api.auth.require_write_key) and goes through the server's Collection: the
reply comes once the new generation is being served, so an added article's
facts are answerable right after, and a removed one's are gone. Files come as
multipart form data (``files`` for POST, ``file`` for PUT; UTF-8 or GB18030 text
or Markdown), or one article as JSON ``{title, text, source}``. Each file gets an
outcome; the good files of a batch go in whatever happens to the others.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.api.auth import require_write_key
from qa.api.deps import get_collection, get_engine
from qa.api.schemas import DocumentIn, DocumentInfo, DocumentText, ErrorResponse, WriteResult
from qa.collection import Collection
from qa.commit import IndexBusyError
from qa.engine import Engine
from qa.intake import IncomingDocument
from qa.writer import UnknownArticleError, WriteReport

MAX_FILES = 1000  # per request


def _body(field: str, many: bool) -> dict:
    """The OpenAPI description of a write's two body forms."""
    files = {"type": "array", "items": {"type": "string", "format": "binary"}} if many else {
        "type": "string", "format": "binary"}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": {"type": "object", "properties": {field: files}, "required": [field]}},
                "application/json": {"schema": DocumentIn.model_json_schema()},
            },
        }
    }


WRITE_ERRORS = {
    401: {"model": ErrorResponse, "description": "API key missing or wrong"},
    403: {"model": ErrorResponse, "description": "Writes are disabled: the server has no API key (QA_API_KEY)"},
    409: {"model": ErrorResponse, "description": "Another write is changing the index; try again"},
    413: {"model": ErrorResponse, "description": "Upload larger than QA_MAX_UPLOAD_BYTES"},
    415: {"model": ErrorResponse, "description": "Neither multipart/form-data nor JSON"},
    422: {"model": ErrorResponse},
}

router = APIRouter(prefix="/api/documents", tags=["documents"], responses={404: {"model": ErrorResponse}})


@router.get("", response_model=list[DocumentInfo], summary="Indexed articles")
def documents(engine: Engine = Depends(get_engine)) -> list[DocumentInfo]:
    """Every indexed article with its title, source, chunk count and when it was added."""
    return [DocumentInfo(**article.model_dump()) for article in engine.articles()]


@router.get("/{article_id:path}", response_model=DocumentText, summary="One article's text")
def document(article_id: str, engine: Engine = Depends(get_engine)) -> DocumentText:
    """The article's title, source and full text as indexed (answers' offsets point into it); 404 for an unknown id."""
    info, article = engine.index.store.article(article_id), engine.index.store.article_record(article_id)
    if info is None or article is None:
        raise HTTPException(status_code=404, detail=f"no article with this id in the index: {article_id}")
    return DocumentText(**info.model_dump(), text=article.text)


async def _incoming(request: Request, field: str) -> list[IncomingDocument]:
    """The documents of a write request: the files of a multipart field, or one JSON article."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        try:
            form = await request.form(max_files=MAX_FILES)
        except StarletteHTTPException as error:  # Starlette's 400 for a malformed body: invalid input, like the rest
            raise HTTPException(422, f"malformed multipart body: {error.detail}") from None
        try:
            uploads = [item for item in form.getlist(field) if isinstance(item, UploadFile)]
            if not uploads:
                raise HTTPException(422, f"no files in the form field {field!r}")
            return [IncomingDocument(name=upload.filename or "upload.txt", data=await upload.read()) for upload in uploads]
        finally:
            await form.close()  # the spooled temporary files
    if kind == "application/json" or kind.endswith("+json"):
        try:
            article = DocumentIn.model_validate_json(await request.body())
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            raise HTTPException(422, f"invalid article: {problems}") from None
        return [IncomingDocument(name=article.title, text=article.text, title=article.title, source=article.source)]
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        f"send files as multipart/form-data (field {field!r}) or one article as JSON {{title, text, source}}",
    )


async def run_write(call, *args) -> WriteResult:
    """Run a write off the event loop (it encodes and writes files) and shape its report."""
    try:
        report: WriteReport = await run_in_threadpool(call, *args)
    except IndexBusyError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except UnknownArticleError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    return WriteResult(outcomes=report.outcomes, generation=report.generation, seconds=report.seconds)


@router.post(
    "", response_model=WriteResult, summary="Add articles", dependencies=[Depends(require_write_key)],
    responses=WRITE_ERRORS, openapi_extra=_body("files", many=True),
)
async def add(request: Request, collection: Collection = Depends(get_collection)) -> WriteResult:
    """Add one or more files (multipart field `files`) or one JSON article; each gets an outcome."""
    return await run_write(collection.add, await _incoming(request, "files"))


@router.put(
    "/{article_id:path}", response_model=WriteResult, summary="Replace an article",
    dependencies=[Depends(require_write_key)], responses=WRITE_ERRORS, openapi_extra=_body("file", many=False),
)
async def replace(article_id: str, request: Request, collection: Collection = Depends(get_collection)) -> WriteResult:
    """Put a file (multipart field `file`) or a JSON article in place of the article, keeping its id."""
    incoming = await _incoming(request, "file")
    if len(incoming) != 1:
        raise HTTPException(422, "replace takes exactly one file")
    return await run_write(collection.replace, article_id, incoming[0])


@router.delete(
    "/{article_id:path}", response_model=WriteResult, summary="Remove an article",
    dependencies=[Depends(require_write_key)], responses=WRITE_ERRORS,
)
async def remove(article_id: str, collection: Collection = Depends(get_collection)) -> WriteResult:
    """Remove the article from the index; its facts are no longer answered once this returns."""
    result = await run_write(collection.remove, [article_id])
    if result.outcomes and result.outcomes[0].status == "rejected":
        raise HTTPException(status.HTTP_404_NOT_FOUND, result.outcomes[0].reason or "no such article")
    return result


"""The index resource: maintenance of the index as a whole (``POST /api/index/compact``), a write route
like those of qa.api.documents (same key, same reply)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from qa.api.auth import require_write_key
from qa.api.deps import get_collection
from qa.api.documents import WRITE_ERRORS, run_write
from qa.api.schemas import WriteResult
from qa.collection import Collection

router = APIRouter(prefix="/api/index", tags=["documents"])


@router.post(
    "/compact", response_model=WriteResult, summary="Compact the index", dependencies=[Depends(require_write_key)],
    responses={k: v for k, v in WRITE_ERRORS.items() if k in (401, 403, 409)},
)
async def compact(collection: Collection = Depends(get_collection)) -> WriteResult:
    """Merge the index's segments into one and drop removed chunks for good (it also runs by itself when
    QA_COMPACT_SEGMENTS or QA_COMPACT_REMOVED_SHARE is passed); the content, and every answer, stay the same."""
    return await run_write(collection.compact)

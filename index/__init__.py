"""The index layer: FAISS vectors plus a chunk store, versioned on disk. No ingest code here."""

from core.errors import UserError

from .search import LoadedIndex, open_index
from .store import IndexStore
from .types import Chunk, DocumentRecord, IndexMeta

__all__ = ["Chunk", "DocumentRecord", "IndexMeta", "IndexStore", "LoadedIndex", "UserError", "open_index"]
